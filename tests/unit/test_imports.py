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


def test_starting_a_build_imports_only_listing_and_hashing() -> None:
    # `release build` starts hashing right after this import; records, manifest assembly,
    # signing and cards are imported while the files are hashed, not before
    code = ("import sys, llm360.registry.build; "
            "heavy = ('yaml', 'jsonschema', 'cryptography', 'jinja2', 'llm360.registry._run', "
            "'llm360.registry.models', 'llm360.registry.signing', 'llm360.registry.verify', "
            "'llm360.registry.release_dir', 'llm360.registry.cards'); "
            "bad = [m for m in heavy if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_registry_names_its_public_api_lazily() -> None:
    import llm360.registry as registry

    assert sorted(registry.__all__) == sorted(registry._HOMES)
    for name in registry.__all__:
        assert getattr(registry, name).__name__ == name


def test_a_release_build_with_cards_does_not_import_huggingface_hub(tmp_path) -> None:
    # the cards' Hub metadata is built as huggingface_hub's card data gives it, without it
    from pathlib import Path

    tests = Path(__file__).resolve().parents[1]
    code = ("import sys; sys.path.insert(0, sys.argv[1]); from pathlib import Path; "
            "from _synthetic import write_synthetic_run; "
            "from llm360.registry.build import BuildOptions, build_release; "
            "from llm360.registry.cards import cards_step; "
            "run = write_synthetic_run(Path(sys.argv[2]) / 'run'); "
            "build_release(run, Path(sys.argv[2]) / 'rel', steps=(cards_step(),), "
            "options=BuildOptions(created='2026-11-27T00:00:00Z')); "
            "bad = [m for m in ('huggingface_hub', 'torch') if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code, str(tests), str(tmp_path)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "rel" / "README.md").is_file()
