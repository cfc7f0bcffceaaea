"""The signature options that ``verify``, ``card`` and ``pull`` share: who must have signed (a
pinned public key, or a keyless identity and issuer), which Sigstore instance vouches for it,
and whether an unsigned manifest is accepted."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import click

__all__ = ["trust_options", "policy_from"]

F = TypeVar("F", bound=Callable[..., Any])

_PARAMS = ("key", "identity", "issuer", "offline", "trust_config", "staging", "allow_unsigned")


def trust_options(*, unsigned_help: str) -> Callable[[F], F]:
    """--key, --identity, --issuer, --offline, --trust-config, --staging and --allow-unsigned
    (whose help, ``unsigned_help``, says what accepting an unsigned manifest means there)."""
    options = [
        click.option("--key", type=click.Path(path_type=Path),
                     help="Verify the manifest's key signature with this public key (PEM); a "
                          "signature is then required."),
        click.option("--identity", help="Keyless: the signer's certificate identity (with "
                                        "--issuer); a signature is then required."),
        click.option("--issuer", help="Keyless: the signer's OIDC issuer URL (with --identity)."),
        click.option("--offline", is_flag=True,
                     help="Keyless: use the trusted root embedded in sigstore-python (no "
                          "network)."),
        click.option("--trust-config", type=click.Path(path_type=Path),
                     help="Keyless: a ClientTrustConfig JSON (private Sigstore instance)."),
        click.option("--staging", is_flag=True, help="Keyless: Sigstore's staging instance."),
        click.option("--allow-unsigned", is_flag=True, help=unsigned_help),
    ]

    def decorate(fn: F) -> F:
        for option in reversed(options):
            fn = option(fn)
        return fn
    return decorate


def policy_from(params: Mapping[str, Any], **more: Any):
    """The ``TrustPolicy`` of a command's ``trust_options`` values (and ``more`` fields)."""
    from llm360.registry.policy import TrustPolicy

    return TrustPolicy(**{name: params[name] for name in _PARAMS}, **more)
