import subprocess
import sys


def test_registry_does_not_import_torch() -> None:
    code = ("import sys, llm360.registry, llm360.registry.verify, llm360.registry.build, "
            "llm360.registry.trace, llm360.registry.audit, llm360.registry.lineage, "
            "llm360.cli.main; bad = [m for m in ('torch', 'deepspeed') if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hub_code_imports_huggingface_hub_only_when_it_talks_to_the_hub() -> None:
    code = ("import sys, llm360.registry.hub, llm360.registry.diff, llm360.cli.main; "
            "bad = [m for m in ('huggingface_hub', 'torch') if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
