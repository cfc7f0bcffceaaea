"""The signature options that ``verify``, ``card`` and ``pull`` share: who must have signed (a
pinned public key, or a keyless identity and issuer), which Sigstore instance vouches for it,
and whether an unsigned manifest is accepted."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import click

__all__ = ["trust_options", "policy_from", "parent_options", "pop_parent", "parent_check_from"]

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
    from llm360.registry.verify.policy import TrustPolicy

    return TrustPolicy(**{name: params[name] for name in _PARAMS}, **more)


def parent_options(fn: F) -> F:
    """--parent, --parent-key, --parent-identity, --parent-issuer, --allow-unverified-parent:
    how a derived release's link to its parent release is checked."""
    options = [
        click.option("--parent", "parent_folders", multiple=True,
                     type=click.Path(path_type=Path),
                     help="A derived release's parent release folder (or its manifest.json), "
                          "where it is not read from the Hub; repeat for several."),
        click.option("--parent-key", type=click.Path(path_type=Path),
                     help="Verify the parent release's signature with this public key (PEM)."),
        click.option("--parent-identity",
                     help="Keyless: the parent release's signer identity (with "
                          "--parent-issuer)."),
        click.option("--parent-issuer",
                     help="Keyless: the parent release's OIDC issuer URL."),
        click.option("--allow-unverified-parent", is_flag=True,
                     help="WEAKENS: a parent release that cannot be checked (not at hand, "
                          "no --parent-key) is printed, not a failure."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


_PARENT_PARAMS = ("parent_folders", "parent_key", "parent_identity", "parent_issuer",
                  "allow_unverified_parent")


def pop_parent(params: dict) -> dict:
    """Take the ``parent_options`` values out of a command's keyword arguments."""
    return {name: params.pop(name) for name in _PARENT_PARAMS}


def parent_check_from(parent: Mapping[str, Any], trust: Mapping[str, Any], hub=None):
    """The ``ParentCheck`` of a command's ``parent_options`` values; the parent's Sigstore
    trust root is the one ``trust`` names for the release (--offline, --trust-config,
    --staging); ``hub``: a callable making the Hub client, when the Hub may be read."""
    from llm360.registry.signing import check_usage
    from llm360.registry.verify.parent import ParentCheck
    from llm360.registry.verify.policy import TrustPolicy

    key, identity, issuer = (parent["parent_key"], parent["parent_identity"],
                             parent["parent_issuer"])
    check_usage(key=key, identity=identity, issuer=issuer, option="--parent-")
    policy = None
    if key is not None or identity:
        policy = TrustPolicy(key=key, identity=identity, issuer=issuer,
                             offline=trust["offline"], trust_config=trust["trust_config"],
                             staging=trust["staging"])
    opener = None
    if hub is not None:
        client = []

        def opener(link, parent_policy):
            from llm360.registry.hub import hub_parent

            if not client:
                client.append(hub())
            return hub_parent(client[0])(link, parent_policy)

    return ParentCheck(policy=policy, folders=tuple(parent["parent_folders"]), hub=opener,
                       allow_unverified=parent["allow_unverified_parent"])
