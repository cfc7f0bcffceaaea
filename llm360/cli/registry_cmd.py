"""``llm360 registry``: the index across releases (add, queries, re-verification, web view).

The database is ``--db URL`` (or a SQLite file path), else ``LLM360_REGISTRY``, else a SQLite
file in the user's data folder (``$XDG_DATA_HOME/llm360/registry.db``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import click

from llm360.cli._hub import client_from, hub_options
from llm360.cli._render import echo, echo_json, require_extra
from llm360.cli._trust import (
    parent_check_from,
    parent_options,
    policy_from,
    pop_parent,
    trust_options,
)
from llm360.errors import InputError

__all__ = ["registry", "database_url"]

_EXTRA = {"sqlalchemy": "SQLAlchemy"}


def database_url(db: str | None) -> str:
    """``--db``, else ``LLM360_REGISTRY``, else the SQLite file in the user's data folder; a
    plain path is a SQLite file."""
    value = db or os.environ.get("LLM360_REGISTRY") or None
    if value is None:
        base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"),
                                                               ".local", "share")
        value = os.path.join(base, "llm360", "registry.db")
    if "://" not in value:
        value = f"sqlite:///{Path(value).expanduser().resolve()}"
    return value


def _options(fn: Callable) -> Callable:
    fn = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")(fn)
    return click.option("--db", metavar="URL",
                        help="The registry database: sqlite:///PATH, a file path, or "
                             "postgresql://USER@HOST:PORT/DB (default: LLM360_REGISTRY, else "
                             "registry.db in the user's data folder).")(fn)


def _store(db: str | None):
    require_extra("registry", _EXTRA, needed_for="llm360 registry")
    from llm360.registry.index import open_store

    return open_store(database_url(db))


def _hub(no_xet: bool):
    def connect(endpoint: str | None):
        return client_from(endpoint, no_xet, quiet=True)
    return connect


def _parent(trust: dict, endpoint: str | None, no_xet: bool):
    """The ``ParentCheck`` of the --parent options (taken out of ``trust``)."""
    return parent_check_from(pop_parent(trust), trust,
                             hub=lambda: client_from(endpoint, no_xet, quiet=True))


@click.group()
def registry() -> None:
    """The provenance registry: an index of verified releases and their lineage."""


@registry.command(short_help="Verify a release, then index it (checkpoints, chunks, lineage).")
@click.argument("release")
@hub_options
@trust_options(unsigned_help="WEAKENS: accept a manifest with no signature (recorded).")
@parent_options
@click.option("--allow-extra", is_flag=True,
              help="WEAKENS: accept files that nobody signed (recorded).")
@click.option("--allow-unverified", is_flag=True,
              help="Index the release even if it does not verify (recorded as unverified).")
@_options
def add(release: str, endpoint: str | None, no_xet: bool, allow_extra: bool,
        allow_unverified: bool, db: str | None, as_json: bool, **trust) -> int:
    """Verify RELEASE (a release folder, its manifest.json, or hub:ORG/NAME[@REV]) with the
    checks and trust options of `llm360 verify` (a derived release's link to its parent
    included: --parent-key, --parent, ...), then index it from its signed manifest:
    release, checkpoints, data chunks, lineage, evaluation results and a verification event.
    Adding a release already indexed records one more verification event and nothing else.
    Exit 1 if it does not verify (unless --allow-unverified)."""
    from llm360.registry.index import add_release

    parent = _parent(trust, endpoint, no_xet)
    policy = policy_from(trust, allow_extra=allow_extra)
    with _store(db) as store:
        result = add_release(store, release, policy=policy, parent=parent, hub=_hub(no_xet),
                             endpoint=endpoint, allow_unverified=allow_unverified)
    if as_json:
        echo_json({"ok": result.event.ok, **result.as_data()})
        return 0
    ref = result.release
    for problem in result.problems:
        echo(f"FAIL {problem}")
    state = "added" if result.new else "already indexed; verification recorded"
    echo(f"{state}: {ref.name} {ref.version} (manifest sha256 {ref.manifest_sha256}) from "
         f"{result.event.location}")
    echo(f"verification: {result.event.summary}; signer: {result.event.signer or 'none'}")
    if result.event.allow_unverified:
        echo("note: indexed UNVERIFIED because of --allow-unverified (recorded)")
    return 0


@registry.command("list", short_help="List the indexed releases and their verification state.")
@_options
def list_(db: str | None, as_json: bool) -> int:
    """List the indexed releases: name, version, verification state, signer, location."""
    from llm360.registry.index import list_releases

    with _store(db) as store:
        rows = list_releases(store)
    if as_json:
        echo_json({"releases": [r.as_data() for r in rows]})
        return 0
    if not rows:
        echo("the registry is empty: add a release with `llm360 registry add RELEASE`")
    for r in rows:
        when = r.last.at if r.last else "never"
        echo(f"{r.release.name} {r.release.version}  {r.state} ({when})  "
             f"{r.checkpoints} checkpoints, {r.chunks} chunks  signer: {r.signer or 'none'}  "
             f"{r.location}")
    return 0


@registry.command(short_help="Show a release or a checkpoint in full.")
@click.argument("ref")
@_options
def show(ref: str, db: str | None, as_json: bool) -> int:
    """Show REF: a release (NAME, ORG/NAME, NAME@VERSION, manifest sha256) with its
    checkpoints, evaluation results, lineage links and verification history, or a checkpoint
    (NAME@ckpt_XXX, root digest) with its chunks, metrics and relatives."""
    from llm360.registry.index import queries

    with _store(db) as store:
        with store.read() as conn:
            target = queries.resolve(conn, ref)
        if target.release_id is None:
            detail = queries.show_checkpoint(store, queries.checkpoint_id(store, ref))
            return _print_checkpoint(detail, as_json)
        rel = queries.show_release(store, target.release_id)
    if as_json:
        echo_json(rel.as_data())
        return 0
    s = rel.summary
    echo(f"release {s.release.name} {s.release.version}, created {s.created} "
         f"({rel.schema_version})")
    echo(f"manifest sha256 {s.release.manifest_sha256}; found at {s.location}")
    echo(f"signer: {s.signer or 'none'}; state: {s.state}")
    for link in rel.derived_from:
        echo(f"derives from {link.parent_repo or link.parent_manifest_sha256 or '?'}"
             f"@{link.parent_name} (root digest {link.parent_digest}) -> {link.child}")
    for info in rel.checkpoints:
        c = info.checkpoint
        metrics = ", ".join(f"{k}={v:g}" for k, v in info.metrics)
        echo(f"  {c.name}  step {c.step}  tokens {c.tokens_seen}  parents "
             f"{', '.join(info.parents) or '-'}  {metrics}")
    for e in rel.history:
        echo(f"  {e.at} {e.action} {'ok' if e.ok else 'FAILED'}: {e.summary}")
    return 0


def _print_checkpoint(detail, as_json: bool) -> int:
    if as_json:
        echo_json(detail.as_data())
        return 0
    c = detail.info.checkpoint
    echo(f"checkpoint {c.label} of {c.release.name} {c.release.version}: step {c.step}, "
         f"tokens {c.tokens_seen}, root digest {c.root_digest}")
    echo(f"parents: {', '.join(detail.info.parents) or '-'}")
    for tr in detail.trained:
        echo(f"  trained on chunk {tr.chunk_index} (sha256 {tr.sha256}) in steps "
             f"{tr.first_step}-{tr.last_step}")
    for k, v in detail.info.metrics:
        echo(f"  {k} = {v:g}")
    for d in detail.derived:
        echo(f"  derived: {d.label} ({d.release.name} {d.release.version}) step {d.step}")
    return 0


@registry.command(short_help="Every release and checkpoint that trained on a data chunk.")
@click.argument("digest", metavar="SHA256|MERKLE_ROOT")
@_options
def chunk(digest: str, db: str | None, as_json: bool) -> int:
    """Every release and checkpoint that trained on the data chunk with this sha256 or Merkle
    root (with the step window), and the checkpoints of other releases that derive from them."""
    from llm360.registry.index import chunk as find

    with _store(db) as store:
        result = find(store, digest)
    if as_json:
        echo_json(result.as_data())
        return 0
    if not result.trained:
        echo(f"no indexed release trained on {digest}")
    for tr in result.trained:
        c = tr.checkpoint
        echo(f"trained: {c.release.name} {c.release.version} {c.name} (chunk {tr.chunk_index}, "
             f"steps {tr.first_step}-{tr.last_step}, {tr.tokens} tokens)")
    _print_found(result.derived, "derived")
    return 0


def _print_found(found, verb: str) -> None:
    by_release: dict[int, list] = {}
    for ref in found:
        by_release.setdefault(ref.release.id, []).append(ref)
    for refs in by_release.values():
        rel = refs[0].release
        names = ", ".join(r.name for r in refs[:6]) + (", ..." if len(refs) > 6 else "")
        echo(f"{verb}: {rel.name} {rel.version} ({len(refs)} checkpoints: {names})")


def _lineage_command(name: str, doc: str, down: bool) -> click.Command:
    @_options
    @click.argument("ref")
    def command(ref: str, db: str | None, as_json: bool) -> int:
        from llm360.registry.index import ancestors, derived

        with _store(db) as store:
            result = (derived if down else ancestors)(store, ref)
        if as_json:
            echo_json(result.as_data())
            return 0
        if not result.found:
            echo(f"{ref}: nothing {'derives from it' if down else 'it derives from'} in the "
                 "registry")
        _print_found(result.found, name)
        return 0

    command.__doc__ = doc
    return registry.command(name, short_help=doc.split(" (")[0])(command)


_lineage_command("derived", "Every checkpoint that derives from REF, across releases (REF: a "
                 "release, NAME@ckpt_XXX or a root digest).", down=True)
_lineage_command("ancestors", "Every checkpoint REF derives from, across releases (REF: a "
                 "release, NAME@ckpt_XXX or a root digest).", down=False)


@registry.command(short_help="The verification history of a release.")
@click.argument("ref")
@_options
def history(ref: str, db: str | None, as_json: bool) -> int:
    """Every verification of the release REF names: when, where, policy, signer, outcome."""
    from llm360.registry.index import history as events_of

    with _store(db) as store:
        rel, events = events_of(store, ref)
    if as_json:
        echo_json({"release": rel.as_data(), "events": [e.as_data() for e in events]})
        return 0
    echo(f"{rel.name} {rel.version} (manifest sha256 {rel.manifest_sha256})")
    for e in events:
        echo(f"  {e.at} {e.action} {'ok' if e.ok else 'FAILED'} at {e.location}; policy: "
             f"{e.policy}; signer: {e.signer or 'none'}; {e.summary}")
    return 0


@registry.command("verify", short_help="Verify indexed releases again and record the outcomes.")
@click.argument("ref", required=False)
@click.option("--all", "every", is_flag=True, help="Every indexed release.")
@hub_options
@trust_options(unsigned_help="WEAKENS: accept a manifest with no signature.")
@parent_options
@click.option("--allow-extra", is_flag=True, help="WEAKENS: accept files that nobody signed.")
@_options
def verify_(ref: str | None, every: bool, endpoint: str | None, no_xet: bool,
            allow_extra: bool, db: str | None, as_json: bool, **trust) -> int:
    """Verify REF (or --all) again where it was found (its folder, or its Hub repo on the
    endpoint it was added from unless --endpoint), with the trust policy it was last verified
    with unless trust options are given, and record each outcome. Names what no longer
    verifies; exit 1 if anything fails."""
    from llm360.registry.index import queries, release_ids, reverify

    if bool(ref) == every:
        raise InputError("pass REF or --all")
    parent_given = pop_parent(trust)
    named = any(trust[k] for k in ("key", "identity", "issuer", "trust_config")) \
        or trust["allow_unsigned"] or allow_extra
    policy = policy_from(trust, allow_extra=allow_extra) if named else None
    parent = parent_check_from(parent_given, trust,
                               hub=lambda: client_from(endpoint, no_xet, quiet=True)) \
        if named else None
    with _store(db) as store:
        if every:
            ids = release_ids(store)
        else:
            ids = [queries.release_id(store, ref)]
        result = reverify(store, ids, policy=policy, parent=parent, hub=_hub(no_xet),
                          endpoint=endpoint)
    if as_json:
        echo_json({"ok": result.ok, **result.as_data()})
    else:
        for o in result.outcomes:
            word = "ok" if o.event.ok else "FAILED"
            echo(f"{word}: {o.release.name} {o.release.version} at {o.event.location}: "
                 f"{o.event.summary}")
        failed = sum(not o.event.ok for o in result.outcomes)
        echo(f"{len(result.outcomes) - failed} verified, {failed} no longer verify")
    return 0 if result.ok else 1


@registry.command(short_help="Serve a read-only web view of the registry.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (another than 127.0.0.1 exposes the view).")
@click.option("--port", default=8360, show_default=True, type=click.IntRange(0, 65535),
              help="Port (0: any free port).")
@_options
def serve(host: str, port: int, db: str | None, as_json: bool) -> int:
    """Serve a read-only web view: releases and their verification state, release pages
    (checkpoints, evaluation curves, the lineage graph across releases, the signer), a chunk
    lookup and checkpoint pages with what derives from them. Ctrl-C stops it."""
    require_extra("registry", {"jinja2": "jinja2", **_EXTRA}, needed_for="llm360 registry serve")
    from llm360.registry.index.web import make_server

    with _store(db) as store:
        server = make_server(store, host=host, port=port)
        url = f"http://{server.server_address[0]}:{server.server_address[1]}/"
        if as_json:
            echo_json({"url": url})
        else:
            echo(f"serving the registry at {url} (read-only; Ctrl-C stops)")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
    return 0
