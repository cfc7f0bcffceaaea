"""What a verifier trusts and what it lets pass: one frozen object, built once by the CLI."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["TrustPolicy"]


@dataclass(frozen=True, kw_only=True)
class TrustPolicy:
    """How to verify a release.

    The signer: a pinned public ``key`` (PEM), or keyless Sigstore ``identity`` + ``issuer``
    with the trust root from ``offline`` (sigstore-python's embedded root), ``trust_config``
    (a private instance) or ``staging``. Naming a key or an identity means a signature is
    required, whatever ``allow_unsigned`` says.

    The opt-outs, each printed when used: ``allow_unsigned`` accepts a manifest with no
    signature; ``allow_extra`` accepts files nobody signed; ``check_bytes=False`` checks the
    signed metadata only. ``expect_version`` fails a release of another version (a rollback).
    """

    key: Path | None = None
    identity: str | None = None
    issuer: str | None = None
    offline: bool = False
    trust_config: Path | None = None
    staging: bool = False
    allow_unsigned: bool = False
    allow_extra: bool = False
    expect_version: str | None = None
    check_bytes: bool = True

    @property
    def names_signer(self) -> bool:
        return self.key is not None or bool(self.identity)

    def opt_outs(self) -> tuple[str, ...]:
        """The weakening flags in force, as a user typed them."""
        out = []
        if self.allow_unsigned and not self.names_signer:
            out.append("--allow-unsigned")
        if self.allow_extra:
            out.append("--allow-extra")
        if not self.check_bytes:
            out.append("--metadata-only")
        return tuple(out)
