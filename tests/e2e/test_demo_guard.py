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


def test_demo_refuses_a_stamp_or_folder_that_is_a_link(tmp_path: Path) -> None:
    made = tmp_path / "made"
    made.mkdir()
    (made / demo.STAMP).write_text("made by the demo\n")
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("years of work")
    (mine / demo.STAMP).symlink_to(made / demo.STAMP)   # a stamp that is only a link
    with pytest.raises(SystemExit, match="was not made by the demo"):
        demo.main(["--out", str(mine)])
    link = tmp_path / "link"
    link.symlink_to(made)                               # --out itself a link
    with pytest.raises(SystemExit, match="symbolic link"):
        demo.main(["--out", str(link)])
    assert (mine / "thesis.tex").read_text() == "years of work"
    assert (made / demo.STAMP).is_file()
