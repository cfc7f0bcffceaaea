"""Mixture files: every bad one is one line, exit 2, naming the file and the key; the draw is
within one row of every target and counts a source's second epoch."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from llm360.cli.main import cli
from llm360.train.mixing import apportion, draw_stages
from llm360.train.mixture import read_mixture

pytest.importorskip("tokenizers")

GOOD = """\
sequences_per_chunk: 8
sources:
  - {source_name: prose, category: english, license: CC0-1.0, reader: jsonl, paths: [prose.jsonl]}
  - {source_name: code, category: code, license: MIT, reader: lines, paths: ["*.txt"]}
stages:
  - name: s1
    chunks: 1
    sources: [{source_name: prose, target_ratio: 0.75}, {source_name: code, target_ratio: 0.25}]
  - name: s2
    chunks: 1
    sources: [{source_name: prose, target_ratio: 0.5}, {source_name: code, target_ratio: 0.5}]
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    words = "the quick brown fox jumps over a lazy dog while cats sleep".split()
    with open(tmp_path / "prose.jsonl", "w") as fh:
        for i in range(60):
            fh.write(json.dumps({"text": " ".join(words[(i + j) % len(words)]
                                                  for j in range(20))}) + "\n")
    (tmp_path / "code.txt").write_text("".join(f"def f{i}(x): return x * {i}\n"
                                               for i in range(80)))
    return tmp_path


def _prepare(folder: Path, text: str):
    (folder / "mix.yaml").write_text(text)
    return CliRunner().invoke(cli, ["data", "prepare", "--run", str(folder / "run"),
                                    "--mixture", str(folder / "mix.yaml"), "--seq-len", "16",
                                    "--vocab-size", "300"])


BOMB = "a: &a [x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\n" \
       "c: &c [*b, *b, *b, *b, *b, *b, *b, *b]\n" + GOOD


@pytest.mark.parametrize("text, key", [
    (GOOD.replace("target_ratio: 0.75", "target_ratio: 0.7"),
     "$.stages[0].sources: the target_ratio values of stage 's1' sum to 0.95, not 1"),
    (GOOD.replace("{source_name: code, target_ratio: 0.5}",
                  "{source_name: web, target_ratio: 0.5}"),
     "$.stages[1].sources[1].source_name: unknown source 'web'"),
    (GOOD.replace("paths: [prose.jsonl]", "paths: [prose.jsonl, missing.jsonl]"),
     "$.sources[0].paths[1]: no such file"),
    (GOOD.replace('paths: ["*.txt"]', 'paths: ["*.md"]'),
     "$.sources[1].paths[0]: no file matches '*.md'"),
    (GOOD.replace("chunks: 1\n    sources: [{source_name: prose, target_ratio: 0.5}",
                  "chunks: 40\n    sources: [{source_name: prose, target_ratio: 0.5}"),
     "$.stages[1].sources[0].target_ratio: source 'prose' has"),
    (BOMB, "YAML alias *a at line 2"),
    (GOOD.replace("reader: lines", "reader: pdf"), "$.sources[1].reader"),
    (GOOD.replace("name: s2", "name: s1"), "$.stages[1].name: 's1' is named twice"),
])
def test_a_bad_mixture_file_is_one_line_exit_2_naming_the_key(folder, text, key) -> None:
    r = _prepare(folder, text)
    assert r.exit_code == 2, r.output
    errors = [line for line in r.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in r.output, r.output
    assert str(folder / "mix.yaml") in errors[0] and key in errors[0], errors[0]
    assert not (folder / "run" / "data").exists()   # nothing written


def test_a_source_too_small_says_what_repetition_would_need(folder) -> None:
    r = _prepare(folder, GOOD.replace("chunks: 1\n    sources: [{source_name: prose, "
                                      "target_ratio: 0.5}",
                                      "chunks: 40\n    sources: [{source_name: prose, "
                                      "target_ratio: 0.5}"))
    assert r.exit_code == 2 and "max_repetition_ratio:" in r.output, r.output


def test_mixture_does_not_go_with_corpus_or_chunks(folder) -> None:
    (folder / "mix.yaml").write_text(GOOD)
    r = CliRunner().invoke(cli, ["data", "prepare", "--run", str(folder / "run"), "--mixture",
                                 str(folder / "mix.yaml"), "--chunks", "4"])
    assert r.exit_code == 2 and "does not go with --chunks" in r.output


def test_apportionment_sums_and_stays_within_one_row() -> None:
    for total, weights in ((10, [0.5, 0.3, 0.2]), (7, [1 / 3] * 3), (416, [0.1, 0.3, 0.6]),
                           (5, [0.97, 0.01, 0.01, 0.01])):
        shares = apportion(total, weights)
        assert sum(shares) == total
        assert all(abs(s - total * w / sum(weights)) < 1 for s, w in zip(shares, weights))


def test_a_stage_that_needs_more_rows_takes_the_next_epoch(folder) -> None:
    text = GOOD.replace("{source_name: prose, target_ratio: 0.5}, {source_name: code, "
                        "target_ratio: 0.5}", "{source_name: prose, target_ratio: 0.25}, "
                        "{source_name: code, target_ratio: 0.75, max_repetition_ratio: 2}")
    (folder / "mix.yaml").write_text(text)
    mixture = read_mixture(folder / "mix.yaml")
    drawn = draw_stages(mixture, [100, 5], seq_len=16, seed=1, path=folder / "mix.yaml")
    assert [d.counts for d in drawn] == [(6, 2), (2, 6)]
    code = drawn[1].source == 1
    # stage s1 took 2 of code's 5 rows: s2 takes the other 3, then 3 of its second epoch
    assert sorted(drawn[1].epoch[code].tolist()) == [0, 0, 0, 1, 1, 1]
    first = set(drawn[0].row[drawn[0].source == 1].tolist())
    assert first.isdisjoint(drawn[1].row[code & (drawn[1].epoch == 0)].tolist())
    for d in drawn:   # every chunk holds each source within one row of its target
        assert np.bincount(d.source, minlength=2).tolist() == list(d.counts)


def test_documents_are_cut_at_max_document_bytes_and_sampled_until_max_bytes(folder) -> None:
    from llm360.train.readers import read_source

    for k in range(6):
        (folder / f"doc{k}.txt").write_text(f"document {k} " * 100)
    text = GOOD.replace('reader: lines, paths: ["*.txt"]',
                        'reader: text, paths: ["doc*.txt"], max_bytes: 100, '
                        'max_document_bytes: 30')
    (folder / "mix.yaml").write_text(text)
    source = read_mixture(folder / "mix.yaml").sources[1]
    docs, record = read_source(source, seed=1, index=1)
    assert [len(d.text) for d in docs] == [30, 30, 30, 10]   # three heads, the last cut
    assert record["files"] == 4 and record["matched_files"] == 6 and record["bytes"] == 100
    again, _ = read_source(source, seed=1, index=1)
    assert [d.id for d in again] == [d.id for d in docs]     # the seed decides the files
