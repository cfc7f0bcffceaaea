"""Manifest lookups: O(1) through indexes built once, invisible to equality and serialization."""

from __future__ import annotations

import copy
import dataclasses
import pickle

import pytest

from llm360.registry.build.release import build_manifest
from llm360.registry.manifest.models import Artifact
from llm360.registry.manifest.serialize import manifest_to_bytes, to_data


@pytest.fixture(scope="module")
def manifest(tmp_path_factory):
    from _synthetic import write_synthetic_run

    run = write_synthetic_run(tmp_path_factory.mktemp("models") / "run")
    return build_manifest(run, created="2026-11-27T00:00:00Z", use_cache=False)[0]


def test_lookups_answer_from_one_index(manifest) -> None:
    first = manifest.artifacts[0]
    assert manifest.artifact(first.path) is first
    assert manifest.artifact("no/such/file") is None
    index = manifest.artifacts_by_path
    assert manifest.artifacts_by_path is index  # built once, not per call
    assert len(index) == len(manifest.artifacts)
    with pytest.raises(TypeError):
        index["x"] = first  # type: ignore[index]
    ckpt = manifest.checkpoints[-1]
    assert manifest.checkpoint(ckpt.name) is ckpt and manifest.checkpoint("ckpt_999") is None
    assert manifest.checkpoints_by_name is manifest.checkpoints_by_name


def test_indexes_leave_the_dataclass_as_it_was(manifest) -> None:
    fresh = copy.deepcopy(manifest)
    manifest.artifact(manifest.artifacts[0].path)  # builds the index on `manifest` only
    assert fresh == manifest and repr(fresh) == repr(manifest)
    assert manifest_to_bytes(fresh) == manifest_to_bytes(manifest)
    assert "artifacts_by_path" not in to_data(manifest)
    with pytest.raises(dataclasses.FrozenInstanceError):
        manifest.artifacts = ()  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(manifest)) == manifest


def test_a_replaced_manifest_gets_its_own_index(manifest) -> None:
    manifest.artifact("x")
    extra = Artifact(path="extra/file.bin", kind="other", size=1, sha256="0" * 64)
    other = dataclasses.replace(manifest, artifacts=(*manifest.artifacts, extra))
    assert other.artifact("extra/file.bin") is extra
    assert manifest.artifact("extra/file.bin") is None
