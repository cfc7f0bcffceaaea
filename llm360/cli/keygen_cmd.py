"""``llm360 keygen``: an ECDSA P-256 key pair for ``release build --sign key``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from llm360.cli._render import echo, echo_json
from llm360.errors import InputError

__all__ = ["keygen"]


@click.command()
@click.option("--private", "private_path", required=True, type=click.Path(path_type=Path),
              help="Private key to write (PEM, PKCS#8; created with mode 0600).")
@click.option("--public", "public_path", required=True, type=click.Path(path_type=Path),
              help="Public key to write (PEM); publish it and pin it when verifying.")
@click.option("--passphrase-file", type=click.Path(path_type=Path),
              help="Encrypt the private key with the first line of this file.")
@click.option("--prompt-passphrase", is_flag=True,
              help="Ask for a passphrase on the terminal to encrypt the private key.")
@click.option("--force", is_flag=True, help="Overwrite existing key files.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def keygen(private_path: Path, public_path: Path, passphrase_file: Path | None,
           prompt_passphrase: bool, force: bool, as_json: bool) -> int:
    """Create an ECDSA P-256 key pair for air-gapped signing (release build --sign key).

    The private key never exists with wider permissions than 0600, and an existing key is
    never overwritten without --force. Verify releases with: llm360 verify ... --key PUBLIC.
    """

    def body() -> int:
        from llm360.registry.signing import write_key_pair

        if passphrase_file is not None and prompt_passphrase:
            raise InputError("pass either --passphrase-file or --prompt-passphrase")
        passphrase = None
        if passphrase_file is not None:
            try:
                lines = passphrase_file.read_bytes().splitlines()
            except OSError as exc:
                raise InputError(f"{passphrase_file}: cannot read ({exc.strerror})") from None
            passphrase = lines[0] if lines and lines[0] else None
            if passphrase is None:
                raise InputError(f"{passphrase_file}: the first line is empty")
        elif prompt_passphrase:
            if not (sys.stdin.isatty() and sys.stderr.isatty()):
                raise InputError("--prompt-passphrase needs a terminal to ask on",
                                 hint="pass --passphrase-file FILE instead (its first line)")
            passphrase = click.prompt("passphrase", hide_input=True,
                                      confirmation_prompt=True).encode("utf-8")
        fingerprint = write_key_pair(private_path, public_path, passphrase=passphrase,
                                     force=force)
        if as_json:
            echo_json({"private": str(private_path), "public": str(public_path),
                       "fingerprint": fingerprint, "encrypted": passphrase is not None})
        else:
            echo(f"private key {private_path} (0600"
                 f"{', encrypted' if passphrase else ', NOT encrypted'})")
            echo(f"public key  {public_path} (sha256 fingerprint {fingerprint})")
        return 0

    return body()
