"""Every error llm360 raises on purpose.

Each error carries a one-line ``message``, an optional ``hint`` saying what to do, and the
process ``exit_code`` the CLI uses: 1 verification failed, 2 usage or bad input, 3 other.
"""

from __future__ import annotations

__all__ = [
    "Llm360Error",
    "InputError",
    "SchemaError",
    "UnsafePathError",
    "StorageError",
    "VerificationError",
    "SigningError",
    "HubError",
    "HubAuthError",
    "HubNotFoundError",
    "HubConflictError",
    "HubRateLimitError",
    "HubServerError",
    "HubConnectionError",
    "TrainingError",
    "CheckpointExistsError",
    "RunLockedError",
]


class Llm360Error(Exception):
    """Base class: a message a person can act on, a hint, and an exit code."""

    exit_code = 3

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class InputError(Llm360Error):
    """Bad input: a missing, unreadable or malformed file or argument (exit 2)."""

    exit_code = 2


class SchemaError(InputError):
    """A JSON or YAML document does not match its schema; names the file and JSON path."""

    def __init__(self, message: str, *, file: str, json_path: str, hint: str | None = None) -> None:
        super().__init__(f"{file}: {json_path}: {message}", hint=hint)
        self.file = file
        self.json_path = json_path
        self.detail = message


class UnsafePathError(InputError):
    """A path escapes its root, is absolute, or goes through a symbolic link."""


class StorageError(InputError):
    """The disk refused a write: no space left, over quota, read-only, file too large (exit 2).

    Nothing is left half-written: the temporary file is removed before this is raised."""

    def __init__(self, message: str, *, path: str | None = None, hint: str | None = None
                 ) -> None:
        super().__init__(message, hint=hint or "free some space (or write elsewhere) and rerun")
        self.path = path


class VerificationError(Llm360Error):
    """The bytes, the manifest or the signature are not what was signed (exit 1)."""

    exit_code = 1

    def __init__(self, message: str, *, artifact: str | None = None,
                 hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.artifact = artifact


class SigningError(Llm360Error):
    """Signing could not be done (no identity token, unreadable key, ...)."""


class HubError(Llm360Error):
    """The Hugging Face Hub refused or failed a request (exit 3 unless a subclass says).

    ``status`` is the HTTP status (None for a transport failure); ``transient`` says whether
    the same request may succeed later (rate limits, server errors, timeouts): those are
    retried with backoff before they surface.
    """

    transient = False

    def __init__(self, message: str, *, hint: str | None = None, status: int | None = None,
                 url: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.url = url


class HubAuthError(HubError):
    """401/403: no token, a wrong token, or no write access (exit 2)."""

    exit_code = 2


class HubNotFoundError(HubError):
    """404: no such repository, revision or file (exit 2)."""

    exit_code = 2


class HubConflictError(HubError):
    """409/412: the branch changed under us (a concurrent commit) or the ref exists (exit 3)."""


class HubRateLimitError(HubError):
    """429: too many requests (retried with backoff first)."""

    transient = True


class HubServerError(HubError):
    """5xx: the Hub failed (retried with backoff first)."""

    transient = True


class HubConnectionError(HubError):
    """No answer: connection refused or reset, a timeout (retried with backoff first)."""

    transient = True


class TrainingError(Llm360Error):
    """Training could not start or continue (bad config, incompatible checkpoint, ...)."""


class CheckpointExistsError(InputError, FileExistsError):
    """A different checkpoint of the same name exists; checkpoints are never overwritten
    (also a ``FileExistsError``, so a trainer can catch it to start a fork)."""


class RunLockedError(InputError):
    """Another process is writing the run (one writer per run): names its pid, host and start
    time (exit 2)."""
