"""What a fresh interpreter has imported after some code: a test helper (tests import it as
``_imports``)."""

from __future__ import annotations

import subprocess
import sys

__all__ = ["imports_none_of"]


def imports_none_of(code: str, modules: tuple[str, ...]) -> None:
    """Run ``code`` in a fresh interpreter; none of ``modules`` may be imported by then."""
    check = (f"\nbad = [m for m in {modules!r} if m in sys.modules]; print(bad); "
             "sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", "import sys\n" + code + check],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
