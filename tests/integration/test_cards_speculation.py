"""Cards rendered from the draft while the build hashes: with the real digests put in, they are
byte for byte the cards a render from the finished release gives; whatever the draft did not
foresee (another signature, a manifest that differs beyond its digests, a digest a YAML header
would quote) renders them again from the real manifest."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from llm360.registry.build import BuildOptions, build_release
from llm360.registry.cards import _speculation, cards_step, render_cards
from llm360.registry.policy import TrustPolicy
from llm360.registry.signing import make_signer, write_key_pair

OPTIONS = BuildOptions(created="2026-11-27T00:00:00Z")


@pytest.fixture(autouse=True)
def _hashing_outlasts_prepare(monkeypatch: pytest.MonkeyPatch) -> None:
    """A small run is hashed before the steps prepare: as for a large one, they see it still
    hashing (the cards are speculated only then, when that work overlaps the hashing)."""
    from llm360.registry.hashing import HashJob

    monkeypatch.setattr(HashJob, "running", property(lambda self: True))


def _spy(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each build's speculative cards were used (True) or rendered again (False)."""
    used: list[bool] = []
    real = _speculation.realize

    def realize(spec, ctx):
        cards = real(spec, ctx)
        used.append(cards is not None)
        return cards

    monkeypatch.setattr(_speculation, "realize", realize)
    return used


def _same_as_a_render(release: Path, again: Path, policy: TrustPolicy) -> None:
    result = render_cards(release / "manifest.json", again, policy=policy)
    cards = [rel for rel in result.files if rel.endswith(".md")]
    assert len(cards) > 3
    for rel in result.files:
        assert (again / rel).read_bytes() == (release / rel).read_bytes(), rel


@pytest.mark.parametrize("signed", [False, True])
def test_cards_from_the_draft_are_the_cards_of_the_release(fork_run: Path, tmp_path: Path,
                                                           monkeypatch, signed: bool) -> None:
    shutil.rmtree(fork_run / ".llm360")  # a first build: every file is hashed
    used = _spy(monkeypatch)
    signer, policy = None, TrustPolicy(allow_unsigned=True)
    if signed:
        private, public = tmp_path / "k.pem", tmp_path / "k.pub.pem"
        write_key_pair(private, public)
        signer, policy = make_signer("key", key_path=private), TrustPolicy(key=public)
    out = tmp_path / "rel"
    build_release(fork_run, out, options=OPTIONS, signer=signer, steps=(cards_step(),))
    assert used == [True]
    _same_as_a_render(out, tmp_path / "again", policy)


def test_a_signature_not_foreseen_renders_the_cards_again(synthetic_run: Path, tmp_path: Path,
                                                          monkeypatch) -> None:
    shutil.rmtree(synthetic_run / ".llm360")
    used = _spy(monkeypatch)
    private, public = tmp_path / "k.pem", tmp_path / "k.pub.pem"
    write_key_pair(private, public)
    signer = make_signer("key", key_path=private)
    signer.key_hint = "0" * 63 + "f"  # foreseen wrongly
    out = tmp_path / "rel"
    build_release(synthetic_run, out, options=OPTIONS, signer=signer, steps=(cards_step(),))
    assert used == [False]
    _same_as_a_render(out, tmp_path / "again", TrustPolicy(key=public))


def test_a_manifest_that_differs_beyond_its_digests_or_a_decimal_digest_is_not_foreseen(
        synthetic_run: Path, tmp_path: Path, monkeypatch) -> None:
    shutil.rmtree(synthetic_run / ".llm360")
    seen: list = []
    real = _speculation.realize

    def realize(spec, ctx):
        seen.append((spec, ctx))
        return real(spec, ctx)

    monkeypatch.setattr(_speculation, "realize", realize)
    build_release(synthetic_run, tmp_path / "rel", options=OPTIONS, steps=(cards_step(),))
    spec, ctx = seen[0]
    assert _speculation.realize(spec, ctx) is not None

    other = dataclasses.replace(ctx, manifest_bytes=ctx.manifest_bytes.replace(
        b'"version":"0.1.0"', b'"version":"0.1.1"'))
    assert other.manifest_bytes != ctx.manifest_bytes
    assert _speculation.realize(spec, other) is None

    first = ctx.manifest.artifacts[0]
    decimal = dataclasses.replace(first, sha256="1" * 64)
    manifest = dataclasses.replace(ctx.manifest,
                                   artifacts=(decimal, *ctx.manifest.artifacts[1:]))
    quoted = dataclasses.replace(ctx, manifest=manifest, manifest_bytes=ctx.manifest_bytes
                                 .replace(first.sha256.encode(), b"1" * 64))
    assert _speculation.realize(spec, quoted) is None
    assert _speculation.realize(spec, dataclasses.replace(ctx, signed=ctx.signed | {"x"})) is None


def test_a_draft_the_renderer_cannot_take_is_left_to_the_build(synthetic_run: Path,
                                                               tmp_path: Path, monkeypatch):
    # before the digests the records are not checked against each other: whatever the
    # speculative render raises, the build goes on and renders (or names the error) later
    shutil.rmtree(synthetic_run / ".llm360")

    def fails(draft, inputs):
        raise KeyError("ckpt_009")

    monkeypatch.setattr(_speculation, "speculate", fails)
    out = tmp_path / "rel"
    build_release(synthetic_run, out, options=OPTIONS, steps=(cards_step(),))
    _same_as_a_render(out, tmp_path / "again", TrustPolicy(allow_unsigned=True))
