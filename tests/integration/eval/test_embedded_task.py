"""The embedded benchmark's task file as a run (or a tampered one) holds it."""

from __future__ import annotations

from pathlib import Path

import pytest

from llm360.errors import InputError
from llm360.eval import embedded
from llm360.registry import layout


@pytest.mark.parametrize("body", ["dataset_kwargs: x\n",
                                  "dataset_kwargs: {data_files: {test: 5}}\n",
                                  "dataset_kwargs: {data_files: x}\n"])
def test_a_malformed_task_file_is_one_line_naming_it(synthetic_run: Path, body: str):
    name = embedded.NEXT_SEGMENT
    path = synthetic_run / layout.benchmark_task_path(name, ".yaml")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body)
    with pytest.raises(InputError, match="dataset_kwargs.data_files") as raised:
        embedded.task_config(synthetic_run, name)
    assert str(path) in str(raised.value)
