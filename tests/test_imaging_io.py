"""Tests for stylecam.imaging.io and stylecam.imaging.tensors: reading awkward files, atomic writes, resizing."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from stylecam.errors import InputError, OutputError
from stylecam.imaging.io import (
    IMAGE_EXTENSIONS,
    MIN_SIDE,
    read_image,
    resize_long_side,
    write_image,
)
from stylecam.imaging.tensors import to_image, to_tensor


def gradient(height: int = 32, width: int = 48) -> np.ndarray:
    """A uint8 RGB test pattern with distinct values in every channel."""
    y, x = np.mgrid[0:height, 0:width]
    return np.stack([x * 255 // (width - 1), y * 255 // (height - 1), (x + y) % 256], axis=2).astype(np.uint8)


def save(path: Path, img: Image.Image, **options: Any) -> Path:
    img.save(path, **options)
    return path


def header(path: Path) -> tuple[str | None, str]:
    """The file's format and mode as Pillow sees them."""
    with Image.open(path) as img:
        return img.format, img.mode


# --- reading: kinds of image -------------------------------------------------------------------------------


def test_reads_real_photo(shared_dir: Path) -> None:
    image = read_image(shared_dir / "images" / "content" / "tubingen.jpg")
    assert image.dtype == np.uint8 and image.shape == (768, 1024, 3)
    assert 40 < image.mean() < 220 and image.std() > 20


def test_png_round_trip_is_exact(tmp_path: Path) -> None:
    expected = gradient()
    path = save(tmp_path / "g.png", Image.fromarray(expected))
    assert np.array_equal(read_image(path), expected)


@pytest.mark.parametrize("mode", ["L", "LA", "1"])
def test_grayscale_becomes_equal_rgb_channels(tmp_path: Path, mode: str) -> None:
    gray = np.tile(np.arange(0, 256, 8, dtype=np.uint8), (20, 1))
    img = Image.fromarray(gray).convert(mode)
    image = read_image(save(tmp_path / "g.png", img))
    expected = np.asarray(img.convert("L"))
    assert image.shape == (20, 32, 3)
    for channel in range(3):
        assert np.array_equal(image[:, :, channel], expected)


def test_rgba_transparent_becomes_white_and_half_transparent_blends(tmp_path: Path) -> None:
    rgba = np.zeros((20, 30, 4), dtype=np.uint8)
    rgba[:, :10] = (255, 0, 0, 255)  # opaque red
    rgba[:, 10:20] = (0, 0, 255, 0)  # fully transparent blue
    rgba[:, 20:] = (0, 0, 0, 128)  # half-transparent black
    image = read_image(save(tmp_path / "a.png", Image.fromarray(rgba, "RGBA")))
    assert (image[:, :10] == (255, 0, 0)).all()
    assert (image[:, 10:20] == 255).all()
    assert (np.abs(image[:, 20:].astype(int) - 127) <= 1).all()


def test_palette_with_transparency(tmp_path: Path) -> None:
    img = Image.new("P", (20, 20), 0)
    img.putpalette([0, 255, 0, 10, 20, 30] + [0] * 762)
    img.paste(1, (0, 0, 10, 20))
    path = save(tmp_path / "p.png", img, transparency=1)
    assert header(path) == ("PNG", "P")
    image = read_image(path)
    assert (image[:, :10] == 255).all()  # transparent palette entry → white
    assert (image[:, 10:] == (0, 255, 0)).all()


def test_16bit_gray_png_is_scaled_not_clipped(tmp_path: Path) -> None:
    values = np.linspace(0, 65535, 64).astype(np.uint16)
    cv2.imwrite(str(tmp_path / "g16.png"), np.tile(values, (16, 1)))
    assert header(tmp_path / "g16.png") == ("PNG", "I;16")
    image = read_image(tmp_path / "g16.png")
    assert np.array_equal(image[0, :, 0], (values >> 8).astype(np.uint8))
    assert image[0, 0, 0] == 0 and image[0, -1, 0] == 255
    assert np.array_equal(image[..., 0], image[..., 2])


@pytest.mark.parametrize("mode", ["I;16", "I;16B", "I"])
def test_16bit_pillow_modes(tmp_path: Path, mode: str) -> None:
    values = np.array([0, 257, 32896, 65535] * 4, dtype=np.uint16)
    img = Image.fromarray(np.tile(values, (16, 1)).astype(np.int32), "I")
    if mode != "I":
        img = img.convert(mode)
    path = save(tmp_path / "g.tif", img)
    assert header(path) == ("TIFF", mode)
    image = read_image(path)
    assert list(image[0, :4, 1]) == [0, 1, 128, 255]


def test_16bit_rgb_png_keeps_channel_order_and_scale(tmp_path: Path) -> None:
    rgb16 = np.zeros((16, 16, 3), dtype=np.uint16)
    rgb16[..., 0] = 65535
    rgb16[..., 1] = 32896
    rgb16[..., 2] = 1000
    cv2.imwrite(str(tmp_path / "c16.png"), rgb16[..., ::-1])  # OpenCV writes BGR
    image = read_image(tmp_path / "c16.png")
    assert (image == (255, 128, 1000 >> 8)).all()


def test_cmyk_jpeg_red_stays_red(tmp_path: Path) -> None:
    path = save(tmp_path / "cmyk.jpg", Image.new("CMYK", (32, 32), (0, 255, 255, 0)), quality=95)
    assert header(path) == ("JPEG", "CMYK")
    image = read_image(path).astype(int)
    assert (image[..., 0] > 240).all() and (image[..., 1:] < 15).all()


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    pixels = np.zeros((20, 40, 3), dtype=np.uint8)
    pixels[:, :20] = (255, 0, 0)  # left half red as stored
    img = Image.fromarray(pixels)
    exif = img.getexif()
    exif[0x0112] = 6  # display rotated 90° clockwise
    path = save(tmp_path / "o.jpg", img, exif=exif, quality=95)
    image = read_image(path)
    assert image.shape == (40, 20, 3)
    assert image[:15, :, 0].min() > 200 and image[25:, :, 0].max() < 50  # stored left → displayed top


# --- reading: failures -----------------------------------------------------------------------------------


def assert_input_error(path: Path, *fragments: str) -> None:
    with pytest.raises(InputError) as info:
        read_image(path)
    message = str(info.value)
    assert str(path) in message and "\n" not in message
    for fragment in fragments:
        assert fragment in message
    assert info.value.exit_code == 66


def test_missing_file(tmp_path: Path) -> None:
    assert_input_error(tmp_path / "nope.jpg", "no such file")


def test_directory(tmp_path: Path) -> None:
    assert_input_error(tmp_path, "folder")


def test_not_an_image(tmp_path: Path) -> None:
    path = tmp_path / "notes.jpg"
    path.write_text("hello, I am not a JPEG\n")
    assert_input_error(path, "not an image")


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.png"
    path.touch()
    assert_input_error(path, "not an image")


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root can read unreadable files")
def test_unreadable_file(tmp_path: Path) -> None:
    path = save(tmp_path / "locked.png", Image.fromarray(gradient()))
    path.chmod(0)
    assert_input_error(path, "permission denied")


def test_permission_error_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(path: object, *args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(Image, "open", refuse)
    assert_input_error(tmp_path / "locked.png", "permission denied")


@pytest.mark.parametrize("cut", [2, 200, 5000])
def test_truncated_jpeg_is_an_error(tmp_path: Path, shared_dir: Path, cut: int) -> None:
    data = (shared_dir / "images" / "content" / "tubingen.jpg").read_bytes()
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[:-cut])
    assert_input_error(path, "truncated")


def test_corrupt_jpeg_body_is_an_error(tmp_path: Path) -> None:
    path = save(tmp_path / "ok.jpg", Image.fromarray(gradient(64, 64)), quality=90)
    data = bytearray(path.read_bytes())
    del data[len(data) // 2 :]
    data += b"\x00" * 10
    path.write_bytes(bytes(data))
    assert_input_error(path, "corrupt")


def test_too_small_image(tmp_path: Path) -> None:
    path = save(tmp_path / "dot.png", Image.new("RGB", (1, 1)))
    assert_input_error(path, "1×1", str(MIN_SIDE))
    path = save(tmp_path / "strip.png", Image.new("RGB", (100, MIN_SIDE - 1)))
    assert_input_error(path, f"100×{MIN_SIDE - 1}")
    assert read_image(save(tmp_path / "ok.png", Image.new("RGB", (MIN_SIDE, MIN_SIDE)))).shape == (16, 16, 3)


@pytest.mark.parametrize("pixels", [1500, 2500])  # Pillow warns above the limit and fails above twice it
def test_decompression_bomb_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pixels: int) -> None:
    path = save(tmp_path / "bomb.png", Image.new("RGB", (pixels // 25, 25)))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    assert_input_error(path, "megapixels, refusing")


# --- reading: big images ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def big_jpeg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 12000×9000 JPEG (108 MP), cheap to make and decode because it is flat grey."""
    return save(tmp_path_factory.mktemp("big") / "big.jpg", Image.new("L", (12000, 9000), 90), quality=80)


def test_big_jpeg_is_accepted_and_downscaled(big_jpeg: Path, capsys: pytest.CaptureFixture[str]) -> None:
    image = read_image(big_jpeg, max_side=1024)
    assert image.shape == (768, 1024, 3)
    assert (np.abs(image.astype(int) - 90) <= 2).all()
    err = capsys.readouterr().err
    assert "downscaled big.jpg from 12000×9000 to 1024×768 (use --size to change)" in err
    assert err.count("\n") == 1


def test_max_side_keeps_smaller_images_and_is_silent(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    expected = gradient()
    path = save(tmp_path / "g.png", Image.fromarray(expected))
    assert np.array_equal(read_image(path, max_side=48), expected)
    assert capsys.readouterr().err == ""


def test_max_side_downscales_png_and_respects_orientation(tmp_path: Path) -> None:
    img = Image.new("RGB", (400, 100), (10, 200, 30))
    exif = img.getexif()
    exif[0x0112] = 8
    image = read_image(save(tmp_path / "w.jpg", img, exif=exif, quality=95), max_side=200)
    assert image.shape == (200, 50, 3)
    assert read_image(save(tmp_path / "w.png", img), max_side=100).shape == (25, 100, 3)


# --- writing ---------------------------------------------------------------------------------------------


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.mark.parametrize("ext", IMAGE_EXTENSIONS)
def test_write_every_format_round_trips(tmp_path: Path, ext: str) -> None:
    expected = gradient()
    path = tmp_path / f"out{ext}"
    write_image(path, expected)
    image = read_image(path)
    lossy = ext in (".jpg", ".jpeg", ".webp")
    assert image.shape == expected.shape
    assert np.abs(image.astype(int) - expected).mean() < (3 if lossy else 1e-9)
    assert leftovers(tmp_path) == []
    (tmp_path / "plain").touch()  # permissions as an ordinary open() gives them, not mkstemp's 0600
    assert path.stat().st_mode & 0o777 == (tmp_path / "plain").stat().st_mode & 0o777


def test_write_format_follows_extension(tmp_path: Path) -> None:
    write_image(tmp_path / "a.PNG", gradient())
    write_image(tmp_path / "b.jpeg", gradient())
    assert header(tmp_path / "a.PNG") == ("PNG", "RGB")
    assert header(tmp_path / "b.jpeg") == ("JPEG", "RGB")


def test_write_quality_matters(tmp_path: Path, shared_dir: Path) -> None:
    photo = read_image(shared_dir / "images" / "content" / "tubingen.jpg")
    write_image(tmp_path / "lo.jpg", photo, quality=30)
    write_image(tmp_path / "hi.jpg", photo, quality=95)
    assert (tmp_path / "lo.jpg").stat().st_size < (tmp_path / "hi.jpg").stat().st_size


def test_write_unknown_extension(tmp_path: Path) -> None:
    with pytest.raises(OutputError) as info:
        write_image(tmp_path / "out.gif", gradient())
    assert ".gif" in str(info.value) and ".png" in str(info.value) and ".tiff" in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_write_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="does not exist"):
        write_image(tmp_path / "nope" / "out.png", gradient())


def test_write_rejects_wrong_array() -> None:
    with pytest.raises(ValueError):
        write_image("x.png", gradient().astype(np.float32))


@pytest.mark.parametrize("error", [OSError("disk full"), ValueError("bad"), RuntimeError("bug")])
def test_failed_write_leaves_old_file_and_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: Exception
) -> None:
    path = tmp_path / "out.png"
    path.write_bytes(b"previous result")

    def broken_save(self: Image.Image, fp: object, *args: object, **kwargs: object) -> None:
        fp.write(b"\x89PNG partial")  # type: ignore[attr-defined]
        raise error

    monkeypatch.setattr(Image.Image, "save", broken_save)
    expected = OutputError if isinstance(error, (OSError, ValueError)) else RuntimeError
    with pytest.raises(expected):
        write_image(path, gradient())
    assert path.read_bytes() == b"previous result"
    assert leftovers(tmp_path) == []
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]


def test_failed_write_of_new_file_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_fsync(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OutputError, match="Input/output error"):
        write_image(tmp_path / "new.jpg", gradient())
    assert list(tmp_path.iterdir()) == []


# --- resizing and tensors --------------------------------------------------------------------------------


def test_resize_long_side() -> None:
    image = gradient(300, 400)
    small = resize_long_side(image, 100)
    assert small.shape == (75, 100, 3) and small.dtype == np.uint8
    assert resize_long_side(gradient(400, 300), 100).shape == (100, 75, 3)
    assert resize_long_side(image, 800).shape == (600, 800, 3)
    assert resize_long_side(image, 400) is image
    flat = np.full((90, 60, 3), 77, dtype=np.uint8)
    assert (resize_long_side(flat, 30) == 77).all() and (resize_long_side(flat, 200) == 77).all()


def test_tensor_round_trip() -> None:
    image = gradient()
    tensor = to_tensor(image)
    assert tensor.shape == (1, 3, 32, 48) and tensor.dtype == torch.float32 and tensor.is_contiguous()
    assert tensor[0, 0, 0, -1] == 1.0 and tensor[0, :, 0, 0].tolist() == [0.0, 0.0, 0.0]
    assert torch.allclose(tensor[0, 1, :, 0] * 255, torch.from_numpy(image[:, 0, 1]).float())
    assert np.array_equal(to_image(tensor), image)
    assert np.array_equal(to_image(tensor[0]), image)


def test_to_image_clamps_and_rounds() -> None:
    tensor = torch.tensor([-0.5, 0.0, 0.499 / 255, 0.501 / 255, 0.5, 1.0, 7.0]).view(1, 7, 1).expand(3, 7, 1)
    assert to_image(tensor)[:, 0, 0].tolist() == [0, 0, 0, 1, 128, 255, 255]


def test_tensor_shape_errors() -> None:
    with pytest.raises(ValueError):
        to_tensor(gradient()[..., 0])
    with pytest.raises(ValueError):
        to_image(torch.zeros(2, 3, 4, 4))
