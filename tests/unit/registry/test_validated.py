"""``schema.Validated``: documents found valid before, by their exact bytes; a rebuild of an
unchanged run validates nothing (and never imports jsonschema), a changed byte is validated."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from llm360.errors import SchemaError
from llm360.registry.build.release import BuildOptions, build_release
from llm360.registry.manifest import schema
from llm360.registry.manifest.schema import Validated

OPTIONS = BuildOptions(created="2026-11-27T00:00:00Z")


def test_known_by_name_and_exact_bytes(tmp_path: Path) -> None:
    memo = Validated(tmp_path / "validated.json")
    assert memo.active and not memo.known("eval", b"{}")
    memo.add("eval", b"{}")
    assert memo.known("eval", b"{}")
    assert not memo.known("eval", b"{ }") and not memo.known("trainer_state", b"{}")
    memo.save()
    again = Validated(tmp_path / "validated.json")
    assert again.known("eval", b"{}")
    assert not Validated(None).known("eval", b"{}")


def test_save_keeps_only_what_this_build_used(tmp_path: Path) -> None:
    first = Validated(tmp_path / "v.json")
    first.add("eval", b"old")
    first.add("eval", b"kept")
    first.save()
    second = Validated(tmp_path / "v.json")
    assert second.known("eval", b"kept")
    second.add("eval", b"new")
    second.save()
    third = Validated(tmp_path / "v.json")
    assert third.known("eval", b"kept") and third.known("eval", b"new")
    assert not third.known("eval", b"old")


def test_a_corrupt_memo_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "v.json").write_text("{not json")
    assert not Validated(tmp_path / "v.json").known("eval", b"{}")


def test_check_validates_unknown_bytes_and_remembers_them(tmp_path: Path) -> None:
    memo = Validated(tmp_path / "v.json")
    with pytest.raises(SchemaError):
        memo.check({"low": 1}, "eval", b'{"low": 1}', source="x.json")
    assert not memo.known("eval", b'{"low": 1}')


def _no_validation(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("validated again")

    monkeypatch.setattr(schema, "validate", refuse)
    monkeypatch.setattr(schema, "validator", refuse)
    monkeypatch.setattr("llm360.registry.run.reader.validator", refuse)


def test_an_unchanged_rebuild_validates_nothing(synthetic_run: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    build_release(synthetic_run, tmp_path / "rel", options=OPTIONS)
    assert (synthetic_run / ".llm360" / "validated.json").is_file()
    with monkeypatch.context() as m:
        _no_validation(m)
        build_release(synthetic_run, tmp_path / "rel", options=OPTIONS)

    # a changed record is validated again, and refused when it is wrong
    record = synthetic_run / "evals" / "ckpt_001.json"
    data = json.loads(record.read_text())
    data["metrics"]["heldout_loss"] = "low"
    record.write_text(json.dumps(data))
    with pytest.raises(SchemaError, match="ckpt_001.json"):
        build_release(synthetic_run, tmp_path / "rel", options=OPTIONS)


def test_a_changed_log_line_is_validated_again(synthetic_run: Path, tmp_path: Path) -> None:
    build_release(synthetic_run, tmp_path / "rel", options=OPTIONS)
    log = synthetic_run / "logs" / "train.jsonl"
    lines = log.read_bytes().splitlines(keepends=True)
    log.write_bytes(b"".join(lines[:-1]) + b'{"step": "last"}\n')
    with pytest.raises(SchemaError, match="train.jsonl"):
        build_release(synthetic_run, tmp_path / "rel", options=OPTIONS)


def test_without_the_cache_nothing_is_remembered(synthetic_run: Path, tmp_path: Path) -> None:
    shutil.rmtree(synthetic_run / ".llm360")
    build_release(synthetic_run, tmp_path / "rel",
                  options=BuildOptions(created="2026-11-27T00:00:00Z", use_cache=False))
    assert not (synthetic_run / ".llm360" / "validated.json").exists()


def test_a_memo_of_another_version_is_ignored(tmp_path: Path) -> None:
    memo = Validated(tmp_path / "v.json")
    memo.add("eval", b"{}")
    memo.save()
    data = json.loads((tmp_path / "v.json").read_text())
    data["version"] = 2
    (tmp_path / "v.json").write_text(json.dumps(data))
    assert not Validated(tmp_path / "v.json").known("eval", b"{}")


def test_a_log_too_big_to_remember_is_validated_every_time(synthetic_run: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    from llm360.registry.run import reader as _run

    monkeypatch.setattr(_run, "MAX_REMEMBERED_LOG", 0)
    build_release(synthetic_run, tmp_path / "rel", options=OPTIONS)
    asked = []
    real = _run.validator

    def spy(name):
        asked.append(name)
        return real(name)

    monkeypatch.setattr(_run, "validator", spy)
    build_release(synthetic_run, tmp_path / "rel", options=OPTIONS)
    assert asked == ["train_log"]  # the records are remembered, the streamed log is not


def test_a_memo_that_is_a_link_is_not_read_and_is_replaced(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere.json"
    first = Validated(elsewhere)
    first.add("eval", b"{}")
    first.save()
    (tmp_path / "v.json").symlink_to(elsewhere)
    memo = Validated(tmp_path / "v.json")
    assert not memo.known("eval", b"{}")
    memo.add("eval", b"[]")
    memo.save()
    assert not (tmp_path / "v.json").is_symlink()
    assert Validated(elsewhere).known("eval", b"{}")  # the link's target is left as it was
