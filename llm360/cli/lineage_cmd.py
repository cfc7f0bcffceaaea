"""``llm360 lineage``: the checkpoint graph of a release, and the data a checkpoint has seen."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click

from llm360.cli._hub import client_from, open_ref
from llm360.cli._render import echo, echo_json
from llm360.errors import InputError

__all__ = ["lineage"]


@click.command(short_help=(
    "Show the checkpoint graph of RELEASE as a tree, forks and merges marked."))
@click.argument("release")
@click.option("--checkpoint", "name", metavar="NAME",
              help="List every data chunk this checkpoint's weights have seen along its "
                   "ancestry, in order, with tokens and the steps each chunk was trained in.")
@click.option("--parent", "parents", multiple=True, type=click.Path(path_type=Path),
              help="A parent release folder (or manifest.json) of a derived release, to "
                   "follow the chain through; repeat for several generations.")
@click.option("--endpoint", metavar="URL",
              help="Hub endpoint to read a hub:ORG/NAME release and parent manifests from "
                   "(default: HF_ENDPOINT, else https://huggingface.co).")
@click.option("--offline", is_flag=True,
              help="Do not read parent manifests from the Hub (only --parent folders).")
@click.option("--json", "as_json", is_flag=True, help="Print the graph (or the data) as JSON.")
def lineage(release: str, name: str | None, parents: tuple[Path, ...], endpoint: str | None,
            offline: bool, as_json: bool) -> int:
    """Show the checkpoint graph of RELEASE (RELEASE/manifest.json, the release folder, or
    hub:ORG/NAME[@REV]) as a tree: forks (one parent, several children) and merges (several
    parents) are marked, with step and tokens seen per checkpoint. Read from the manifest alone.

    A derived release (it continues a checkpoint of another release) starts with the chain
    of releases it descends from, oldest first (ORG/NAME@ckpt_001 -> ckpt_002 (this
    release)): each parent's manifest is read from a --parent folder or from the Hub at the
    recorded commit (unless --offline) and accepted only with the sha256 its child records.
    """
    from llm360.registry.analysis import lineage as lin

    def body() -> int:
        source = open_ref(release, endpoint=endpoint)
        manifest = source.manifest
        chain = _chain(manifest, parents, None if offline else endpoint, offline)
        if name is not None:
            ckpt = manifest.checkpoint(name)
            if ckpt is None:
                known = ", ".join(c.name for c in manifest.checkpoints) or "none"
                raise InputError(f"{source.manifest_path}: no checkpoint {name!r} "
                                 f"(checkpoints: {known})")
            order = lin.data_order(manifest, name)
            if as_json:
                echo_json({"checkpoint": name, "step": ckpt.step,
                           "tokens_seen": ckpt.tokens_seen,
                           "ancestry": list(reversed(lin.ancestors(manifest, name))),
                           "data": [dataclasses.asdict(s) for s in order],
                           "derived_from": _chain_data(chain)})
                return 0
            total = sum(s.tokens for s in order)
            if manifest.derived_from is not None:
                link = manifest.derived_from
                echo(f"continues {link.label} ({link.relation}; step {link.checkpoint.step:,}, "
                     f"{link.checkpoint.tokens_seen:,} tokens seen there: its data is listed by "
                     "`llm360 lineage` of that release)")
            echo(f"{name} (step {ckpt.step:,}, {ckpt.tokens_seen:,} tokens seen) was "
                 f"trained on {len(order)} chunk spans, {total:,} tokens, in this order:")
            for s in order:
                rows = f"rows 0-{s.rows - 1}" if s.rows else "no rows"
                echo(f"  chunk {s.chunk:>3}  {s.path}  {rows}  {s.tokens:,} tokens  "
                     f"steps {s.first_step:,}-{s.last_step:,}  in {s.checkpoint}")
            return 0
        if as_json:
            kids = lin.children_map(manifest)
            echo_json({"roots": lin.roots(manifest), "checkpoints": [
                {"name": c.name, "step": c.step, "tokens_seen": c.tokens_seen,
                 "parents": list(c.parents), "children": kids.get(c.name, []),
                 "data_chunks": list(c.data_chunks)} for c in manifest.checkpoints],
                "derived_from": _chain_data(chain)})
            return 0
        if manifest.derived_from is not None:
            from llm360.registry.verify.parent import chain_text

            echo(f"releases: {chain_text(manifest, chain)}")
            for g in chain:
                rel = g.manifest.release if g.manifest is not None else None
                what = (f"{rel.name} {rel.version} in {g.where}" if rel is not None
                        else g.note)  # the note says why it was not read
                echo(f"  {g.link.label}: {g.link.relation} of step {g.link.checkpoint.step:,}, "
                     f"{g.link.checkpoint.tokens_seen:,} tokens ({what})")
        for line in tree_lines(manifest):
            echo(line)
        return 0

    return body()


def _chain(manifest, parents: tuple[Path, ...], endpoint: str | None, offline: bool) -> list:
    """The releases ``manifest`` descends from (``registry.verify.parent.parent_chain``): manifests
    from the --parent folders by sha256, else from the Hub unless ``offline``."""
    import hashlib

    from llm360.registry.verify.parent import local_manifest, parent_chain

    local, given = {}, {}
    for folder in parents:
        path, raw = local_manifest(folder)
        sha = hashlib.sha256(raw).hexdigest()
        local[sha], given[sha] = (raw, str(path.parent)), folder
    client: list = []

    def fetch(link):
        if link.release.manifest_sha256 in local:
            return local[link.release.manifest_sha256]
        if offline or not link.release.repo:
            return None
        from llm360.registry.hub import hub_manifest

        if not client:
            client.append(client_from(endpoint, False, quiet=True))
        return hub_manifest(client[0])(link)

    chain = parent_chain(manifest, fetch) if manifest.derived_from is not None else []
    used = {g.link.release.manifest_sha256 for g in chain if g.manifest is not None}
    for sha, folder in given.items():  # a --parent that is no ancestor is a mistake, said so
        if sha not in used:
            stop = chain[-1].note if chain and chain[-1].manifest is None else None
            raise InputError(
                f"--parent {folder}: its manifest (sha256 {sha[:16]}...) is not one this "
                "release descends from" + (f" (the chain stops before it: {stop})" if stop
                                           else ""),
                hint="pass the release folders of its parent, grandparent, ...: each is "
                     "matched by the manifest sha256 its child records")
    return chain


def _chain_data(chain: list) -> list[dict]:
    return [{"link": g.link.label, "relation": g.link.relation, "parent": g.link.location,
             "checkpoint": g.link.checkpoint.name, "step": g.link.checkpoint.step,
             "tokens_seen": g.link.checkpoint.tokens_seen,
             "root_digest": g.link.checkpoint.root_digest,
             "release": ({"name": g.manifest.release.name,
                          "version": g.manifest.release.version}
                         if g.manifest is not None else None),
             "where": g.where, "note": g.note} for g in chain]


#: forks nested deeper than this are drawn at this depth (a line's indent stays bounded)
_MAX_FORK_DEPTH = 32


def tree_lines(manifest) -> list[str]:
    """The checkpoint graph as a tree: a checkpoint's only child is drawn below it at the same
    depth, children of a fork one level deeper; a merge is drawn under its first parent and
    named under the others. Iterative, and linear in the number of checkpoints (a chain may
    be thousands long)."""
    from llm360.registry.analysis import lineage as lin

    ckpts = {c.name: c for c in manifest.checkpoints}
    kids = lin.children_map(manifest)
    lines: list[str] = []
    drawn: set[str] = set()

    def label(name: str) -> str:
        c = ckpts[name]
        marks = []
        if len(kids.get(name, ())) > 1:
            marks.append(f"fork: {len(kids[name])} lines")
        if len(c.parents) > 1:
            marks.append("merge of " + " + ".join(c.parents))
        link = manifest.derived_from
        if link is not None and link.checkpoint.name in c.parents \
                and link.checkpoint.name not in ckpts:
            marks.append(f"continues {link.label}")
        chunks = ",".join(str(k) for k in c.data_chunks) or "-"
        mark = f"  [{'; '.join(marks)}]" if marks else ""
        return f"{name}  step {c.step:,}  tokens {c.tokens_seen:,}  chunks {chunks}{mark}"

    # (name, what goes before it on its line, what goes before the lines below it, parent)
    stack: list[tuple[str, str, str, str | None]] = [
        (r, "", "", None) for r in reversed(lin.roots(manifest))]
    while stack:
        name, lead, inner, parent = stack.pop()
        c = ckpts[name]
        if parent is not None and len(c.parents) > 1 and c.parents[0] != parent:
            lines.append(f"{lead}{name}  (merge: drawn under {c.parents[0]})")
            continue
        if name in drawn:  # a manifest listing a checkpoint twice
            lines.append(f"{lead}{name}  (drawn above)")
            continue
        drawn.add(name)
        lines.append(f"{lead}{label(name)}")
        below = kids.get(name, [])
        if len(below) == 1:
            stack.append((below[0], inner, inner, name))
            continue
        deeper = len(inner) < 4 * _MAX_FORK_DEPTH
        for i in reversed(range(len(below))):
            last = i == len(below) - 1
            nested = inner + ("    " if last else "│   ") if deeper else inner
            stack.append((below[i], inner + ("└── " if last else "├── "), nested, name))
    return lines
