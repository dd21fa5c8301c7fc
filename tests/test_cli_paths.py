"""Tests for stylecam.cli.paths: expanding inputs and planning outputs that never overwrite inputs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from stylecam.cli.paths import collect_inputs, plan_outputs
from stylecam.errors import InputError, OutputError


def touch(folder: Path, *names: str) -> list[Path]:
    paths = [folder / name for name in names]
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    return paths


# --- collect_inputs --------------------------------------------------------------------------------------


def test_files_stay_as_given_in_order(tmp_path: Path) -> None:
    b, a, notes = touch(tmp_path, "b.jpg", "a.png", "notes.txt")
    assert collect_inputs([str(b), str(a), str(notes)]) == [b, a, notes]


def test_folder_expands_to_sorted_images_only(tmp_path: Path) -> None:
    touch(tmp_path, "c.JPG", "a.png", "b.webp", "d.tiff", "e.txt", ".hidden.jpg", "sub/f.jpg")
    (tmp_path / "dir.jpg").mkdir()
    names = [p.name for p in collect_inputs([str(tmp_path)])]
    assert names == ["a.png", "b.webp", "c.JPG", "d.tiff"]


def test_files_and_folders_mix(tmp_path: Path) -> None:
    (single,) = touch(tmp_path, "one.jpg")
    touch(tmp_path / "many", "y.png", "x.png")
    assert [p.name for p in collect_inputs([str(tmp_path / "many"), str(single)])] == ["x.png", "y.png", "one.jpg"]


def test_missing_input(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="nope.jpg: no such file") as info:
        collect_inputs([str(tmp_path / "nope.jpg")])
    assert info.value.exit_code == 66


def test_folder_without_images(tmp_path: Path) -> None:
    touch(tmp_path, "readme.txt")
    with pytest.raises(InputError, match="no images"):
        collect_inputs([str(tmp_path)])
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="empty: folder holds no images"):
        collect_inputs([str(tmp_path / "empty")])


# --- plan_outputs ----------------------------------------------------------------------------------------


def test_default_output_is_beside_input(tmp_path: Path) -> None:
    a, b = touch(tmp_path, "a.png", "sub/b.JPG")
    assert plan_outputs([a, b], None, "mosaic") == [(a, tmp_path / "a_mosaic.png"), (b, tmp_path / "sub/b_mosaic.JPG")]


def test_unsupported_input_extension_gets_default(tmp_path: Path) -> None:
    (gif,) = touch(tmp_path, "anim.gif")
    assert plan_outputs([gif], None, "t") == [(gif, tmp_path / "anim_t.jpg")]
    assert plan_outputs([gif], None, "t", default_ext=".png") == [(gif, tmp_path / "anim_t.png")]


def test_single_input_to_file(tmp_path: Path) -> None:
    (a,) = touch(tmp_path, "a.jpg")
    out = tmp_path / "result.png"
    assert plan_outputs([a], str(out), "t") == [(a, out)]
    assert not out.exists()


def test_single_input_to_file_in_missing_folder(tmp_path: Path) -> None:
    (a,) = touch(tmp_path, "a.jpg")
    with pytest.raises(OutputError, match="does not exist") as info:
        plan_outputs([a], str(tmp_path / "missing" / "result.png"), "t")
    assert info.value.exit_code == 73
    assert not (tmp_path / "missing").exists()


def test_single_input_to_file_with_unsupported_extension(tmp_path: Path) -> None:
    (a,) = touch(tmp_path, "a.jpg")
    with pytest.raises(OutputError, match=r"unsupported output extension.*\.png"):
        plan_outputs([a], str(tmp_path / "result"), "t")


@pytest.mark.parametrize("form", ["existing", "slash", "several"])
def test_output_folder(tmp_path: Path, form: str) -> None:
    inputs = touch(tmp_path, "in/a.png", "in/b.jpg", "in/c.bmp")
    if form == "existing":
        (tmp_path / "out").mkdir()
        inputs, output = inputs[:1], str(tmp_path / "out")
    elif form == "slash":
        inputs, output = inputs[:1], str(tmp_path / "out") + "/"
    else:
        output = str(tmp_path / "out")
    pairs = plan_outputs(inputs, output, "candy")
    assert (tmp_path / "out").is_dir()
    expected = {"a.png": "a_candy.png", "b.jpg": "b_candy.jpg", "c.bmp": "c_candy.bmp"}
    assert pairs == [(p, tmp_path / "out" / expected[p.name]) for p in inputs]


def test_output_folder_is_created_with_parents(tmp_path: Path) -> None:
    inputs = touch(tmp_path, "a.png", "b.png")
    pairs = plan_outputs(inputs, str(tmp_path / "x" / "y"), "t")
    assert pairs[1][1] == tmp_path / "x" / "y" / "b_t.png" and (tmp_path / "x" / "y").is_dir()


def test_several_inputs_to_an_existing_file(tmp_path: Path) -> None:
    inputs = touch(tmp_path, "a.png", "b.png", "taken.jpg")
    with pytest.raises(OutputError, match="is a file"):
        plan_outputs(inputs[:2], str(inputs[2]), "t")


def test_output_file_equal_to_input(tmp_path: Path) -> None:
    (a,) = touch(tmp_path, "a.jpg")
    with pytest.raises(OutputError, match="would overwrite input"):
        plan_outputs([a], str(a), "t")
    with pytest.raises(OutputError, match="would overwrite input"):  # same file through another spelling
        plan_outputs([a], str(tmp_path / "." / ".." / tmp_path.name / "a.jpg"), "t")


def test_output_file_hard_link_to_input(tmp_path: Path) -> None:
    (a,) = touch(tmp_path, "a.jpg")
    os.link(a, tmp_path / "link.jpg")
    with pytest.raises(OutputError, match=r"output .*link\.jpg would overwrite input .*a\.jpg"):
        plan_outputs([a], str(tmp_path / "link.jpg"), "t")


def test_output_through_symlinked_folder(tmp_path: Path) -> None:
    (a,) = touch(tmp_path, "real/a.png")
    (tmp_path / "alias").symlink_to(tmp_path / "real")
    with pytest.raises(OutputError, match="would overwrite input"):
        plan_outputs([a], str(tmp_path / "alias" / "a.png"), "t")


def test_output_of_one_input_is_another_input(tmp_path: Path) -> None:
    a, a_styled = touch(tmp_path, "a.jpg", "a_styled.jpg")
    with pytest.raises(OutputError, match=r"output .*a_styled\.jpg would overwrite input .*a_styled\.jpg"):
        plan_outputs([a, a_styled], None, "styled")


def test_two_outputs_collide(tmp_path: Path) -> None:
    inputs = touch(tmp_path, "one/x.jpg", "two/x.jpg")
    with pytest.raises(OutputError, match=r"inputs .*one.x\.jpg and .*two.x\.jpg would both be written to"):
        plan_outputs(inputs, str(tmp_path / "out"), "t")
    assert not (tmp_path / "out").exists()  # nothing created when planning fails


def test_same_input_twice(tmp_path: Path) -> None:
    (a,) = touch(tmp_path, "a.jpg")
    with pytest.raises(OutputError, match="would both be written"):
        plan_outputs(collect_inputs([str(a), str(a)]), None, "t")


def test_folder_output_equal_to_input_folder_is_fine(tmp_path: Path) -> None:
    inputs = touch(tmp_path, "a.jpg", "b.jpg")
    pairs = plan_outputs(inputs, str(tmp_path), "t")
    assert [out.name for _, out in pairs] == ["a_t.jpg", "b_t.jpg"]
