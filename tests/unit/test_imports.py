import subprocess
import sys
from pathlib import Path


def _imports_none_of(code: str, modules: tuple[str, ...], *args: str) -> None:
    """Run ``code`` in a fresh interpreter (``sys.argv[1:]``: ``args``); none of ``modules``
    may be imported by then."""
    check = (f"\nbad = [m for m in {modules!r} if m in sys.modules]; print(bad); "
             "sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", "import sys\n" + code + check, *args],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_registry_does_not_import_torch() -> None:
    _imports_none_of("import llm360.registry, llm360.registry.verify, llm360.registry.build, "
                     "llm360.registry.trace, llm360.registry.audit, llm360.registry.lineage, "
                     "llm360.cli.main", ("torch", "deepspeed"))


def test_hub_code_imports_huggingface_hub_only_when_it_talks_to_the_hub() -> None:
    _imports_none_of("import llm360.registry.hub, llm360.registry.diff, llm360.cli.main",
                     ("huggingface_hub", "torch"))


def test_starting_a_build_imports_only_listing_and_hashing() -> None:
    # `release build` starts hashing right after this import; records, manifest assembly,
    # signing and cards are imported while the files are hashed, not before
    _imports_none_of("import llm360.registry.build",
                     ("yaml", "jsonschema", "cryptography", "jinja2", "llm360.registry._run",
                      "llm360.registry.models", "llm360.registry.signing",
                      "llm360.registry.verify", "llm360.registry.release_dir",
                      "llm360.registry.cards"))


def test_the_registry_names_its_public_api_lazily() -> None:
    import llm360.registry as registry

    assert sorted(registry.__all__) == sorted(registry._HOMES)
    for name in registry.__all__:
        assert getattr(registry, name).__name__ == name


def test_a_release_build_with_cards_does_not_import_huggingface_hub(tmp_path: Path) -> None:
    # the cards' Hub metadata is built as huggingface_hub's card data gives it, without it
    tests = Path(__file__).resolve().parents[1]
    _imports_none_of("sys.path.insert(0, sys.argv[1]); from pathlib import Path\n"
                     "from _synthetic import write_synthetic_run\n"
                     "from llm360.registry.build import BuildOptions, build_release\n"
                     "from llm360.registry.cards import cards_step\n"
                     "run = write_synthetic_run(Path(sys.argv[2]) / 'run')\n"
                     "build_release(run, Path(sys.argv[2]) / 'rel', steps=(cards_step(),), "
                     "options=BuildOptions(created='2026-11-27T00:00:00Z'))",
                     ("huggingface_hub", "torch"), str(tests), str(tmp_path))
    assert (tmp_path / "rel" / "README.md").is_file()
