"""Where each release file goes on the Hub: the one layout function push, verify and pull share.

``layout(manifest, release_files)`` -> ``{(repo, branch): {hub_path: release_path}}`` with
``repo`` one of ``MODEL`` / ``DATASET``:

* model repo, branch ``ckpt_XXX`` per checkpoint: the checkpoint's files at the root, its card
  (``cards/ckpt_XXX.md``) as ``README.md``, its OMS signature as ``model.sig``, and the
  tokenizer files at the root unless the checkpoint folder already holds them;
* model repo, ``main``: the final checkpoint (``models.final_checkpoint``, the one the cards
  name) laid out the same way
  but with the release's ``README.md``, plus every release file (manifest, bundle, cards,
  plots, signatures, data card, marker) and every artifact outside ``checkpoints/`` and
  ``data/`` (configs, logs, evals, code provenance, llm360.yaml, tokenizer) at its own path;
* dataset repo, ``main``: every artifact under ``data/`` (chunks, index, held-out set), the
  tokenizer, ``config/data.json``, ``DATA_CARD.md`` as ``README.md`` and ``croissant.json``
  (there only: its URLs are relative to it, beside ``data/``).

A checkpoint whose name is not a branch of its own (``main``, a tag ``v<version>``: see
``layout.checkpoint_name_problem``; ``release build`` refuses them) gets no branch, so that it
never overwrites another ref; ``verify --hub`` and ``pull`` then find its files nowhere (unless
it is the final checkpoint, which ``main`` serves) and fail. No huggingface_hub import here.
"""

from __future__ import annotations

from collections.abc import Collection
from posixpath import basename

from llm360.registry import layout as run_layout
from llm360.registry.manifest.models import Checkpoint, Manifest, final_checkpoint

__all__ = ["MODEL", "DATASET", "MAIN", "LOCAL_ONLY", "layout", "branch_order"]

MODEL, DATASET, MAIN = "model", "dataset", "main"
#: release files that stay on the publisher's machine (the record of the push itself)
LOCAL_ONLY = frozenset({"publication.json"})


def _checkpoint_files(ckpt: Checkpoint, tokenizer: list[str], release_files: Collection[str],
                      card: str | None) -> dict[str, str]:
    name = ckpt.name
    prefix = run_layout.checkpoint_dir(name) + "/"
    out = {p[len(prefix):]: p for p in ckpt.files if p.startswith(prefix)}
    for path in tokenizer:  # the run's tokenizer files, unless the checkpoint holds its own
        out.setdefault(basename(path), path)
    if card is not None and card in release_files:
        out[run_layout.MODEL_CARD] = card
    sig = run_layout.signature_path(name)
    if sig in release_files:
        out[run_layout.MODEL_SIG] = sig
    return out


def layout(manifest: Manifest, release_files: Collection[str] = ()
           ) -> dict[tuple[str, str], dict[str, str]]:
    """``{(repo, branch): {hub_path: release_path}}`` for the manifest's artifacts and the
    release files in ``release_files`` (paths relative to the release folder)."""
    release_files = set(release_files) - LOCAL_ONLY
    tokenizer = [a.path for a in manifest.artifacts
                 if a.path.startswith(run_layout.TOKENIZER_DIR + "/") and a.path.count("/") == 1]
    out: dict[tuple[str, str], dict[str, str]] = {}
    for ckpt in manifest.checkpoints:
        if run_layout.checkpoint_name_problem(ckpt.name) is not None:
            continue  # no branch of its own (``main``, a tag, ...): its files go nowhere else
        out[(MODEL, ckpt.name)] = _checkpoint_files(ckpt, tokenizer, release_files,
                                                    run_layout.checkpoint_card(ckpt.name))
    main: dict[str, str] = {}
    final = final_checkpoint(manifest)
    if final is not None:
        main.update(_checkpoint_files(final, tokenizer, release_files, run_layout.MODEL_CARD))
    for rel in sorted(release_files - {run_layout.CROISSANT}):  # Croissant: beside data/
        main[rel] = rel
    data: dict[str, str] = {}
    for art in manifest.artifacts:
        top = art.path.split("/", 1)[0]
        if top == run_layout.DATA_DIR:
            data[art.path] = art.path
        elif top != run_layout.CHECKPOINTS_DIR:
            main[art.path] = art.path
        if top == run_layout.TOKENIZER_DIR or art.path == run_layout.DATA_CONFIG:
            data[art.path] = art.path
    if run_layout.DATA_CARD in release_files:
        data[run_layout.MODEL_CARD] = run_layout.DATA_CARD
    if run_layout.CROISSANT in release_files:
        data[run_layout.CROISSANT] = run_layout.CROISSANT
    out[(MODEL, MAIN)] = main
    if data:
        out[(DATASET, MAIN)] = data
    return out


def branch_order(plan: dict[tuple[str, str], dict[str, str]]) -> list[tuple[str, str]]:
    """Checkpoint branches first (manifest order), then the dataset, then the model's main:
    main (the manifest) is written last, so it never names what is not there yet."""
    keys = list(plan)
    return ([k for k in keys if k[0] == MODEL and k[1] != MAIN]
            + [k for k in keys if k[0] == DATASET] + [k for k in keys if k == (MODEL, MAIN)])
