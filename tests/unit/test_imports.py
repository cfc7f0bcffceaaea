import subprocess
import sys


def _imports_none_of(code: str, modules: tuple[str, ...]) -> None:
    """Run ``code`` in a fresh interpreter; none of ``modules`` may be imported by then."""
    check = (f"\nbad = [m for m in {modules!r} if m in sys.modules]; print(bad); "
             "sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", "import sys\n" + code + check],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_registry_does_not_import_torch() -> None:
    _imports_none_of("import llm360.registry, llm360.registry.verify.verifier, "
                     "llm360.registry.build.release, llm360.registry.analysis.trace, "
                     "llm360.registry.analysis.audit, llm360.registry.analysis.lineage, "
                     "llm360.cli.main", ("torch", "deepspeed"))


def test_hub_code_imports_huggingface_hub_only_when_it_talks_to_the_hub() -> None:
    _imports_none_of("import llm360.registry.hub, llm360.registry.analysis.diff, llm360.cli.main",
                     ("huggingface_hub", "torch"))


def test_the_registry_names_its_public_api_lazily() -> None:
    import llm360.registry as registry

    assert sorted(registry.__all__) == sorted(registry._HOMES)
    for name in registry.__all__:
        assert getattr(registry, name).__name__ == name
