from _imports import imports_none_of


def test_registry_does_not_import_torch() -> None:
    imports_none_of("import llm360.registry, llm360.registry.verify.verifier, "
                    "llm360.registry.build.release, llm360.registry.analysis.trace, "
                    "llm360.registry.analysis.audit, llm360.registry.analysis.lineage, "
                    "llm360.cli.main", ("torch", "deepspeed"))


def test_hub_code_imports_huggingface_hub_only_when_it_talks_to_the_hub() -> None:
    imports_none_of("import llm360.registry.hub, llm360.registry.analysis.diff, llm360.cli.main",
                    ("huggingface_hub", "torch"))


def test_the_registry_names_its_public_api_lazily() -> None:
    import llm360.registry as registry

    assert sorted(registry.__all__) == sorted(registry._HOMES)
    for name in registry.__all__:
        assert getattr(registry, name).__name__ == name
