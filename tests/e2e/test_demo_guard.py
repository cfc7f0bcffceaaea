"""`make demo` never deletes a folder it did not make."""

from pathlib import Path

import pytest

from llm360 import demo


def test_demo_refuses_a_folder_it_did_not_make(tmp_path: Path) -> None:
    mine = tmp_path / "demo"
    mine.mkdir()
    (mine / "thesis.tex").write_text("years of work")
    with pytest.raises(SystemExit, match="was not made by the demo"):
        demo.main(["--out", str(mine)])
    assert (mine / "thesis.tex").read_text() == "years of work"
