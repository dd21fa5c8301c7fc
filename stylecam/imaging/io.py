"""Image files in and out as uint8 H×W×3 RGB arrays; every problem becomes a one-line InputError/OutputError."""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
import warnings
from pathlib import Path

import cv2
import numpy as np
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from stylecam.errors import InputError, OutputError
from stylecam.imaging.sizes import MIN_SIDE
from stylecam.log import notice

MAX_PIXELS = 400_000_000
"""Largest accepted image (decompression-bomb guard); a 12000×9000 photo is 108 MP."""

# Pillow's format for each supported extension: folders expand to these, outputs must use one of them.
_FORMATS = {
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".png": "PNG",
    ".webp": "WEBP",
    ".bmp": "BMP",
    ".tif": "TIFF",
    ".tiff": "TIFF",
}
IMAGE_EXTENSIONS: tuple[str, ...] = tuple(_FORMATS)

# Pillow's default limit (~89 MP) would warn about ordinary big photos; read_image turns the warning into an error.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

_ALPHA_MODES = {"RGBA", "RGBa", "LA", "La", "PA"}
_WIDE_GRAY_MODES = {"I", "I;16", "I;16L", "I;16B", "I;16N"}
_ROTATED_ORIENTATIONS = {5, 6, 7, 8}  # EXIF orientations that swap width and height


def read_image(path: str | os.PathLike[str], max_side: int | None = None, size_option: str | None = "--size") -> np.ndarray:
    """Read an image file as a uint8 H×W×3 RGB array, upright per EXIF, transparency composited over white.

    If ``max_side`` is given and the image's long side exceeds it, the image is decoded reduced where the format
    allows (JPEG) and resized so its long side is ``max_side``, with a notice naming ``size_option`` (no notice
    when it is None: an internal working size). Raises InputError naming the file.
    """
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not an image")
    try:
        with warnings.catch_warnings():  # refuse from the limit on, instead of warning up to twice the limit
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(path)
        with img:
            width, height = _upright_size(img)
            if min(width, height) < MIN_SIDE:
                raise InputError(
                    f"{path}: image is {width}×{height} px, smaller than the minimum of {MIN_SIDE} px per side"
                )
            target = max_side if max_side is not None and max(width, height) > max_side else None
            if target is not None:
                scale = target / max(width, height)
                img.draft("RGB", (math.ceil(img.width * scale), math.ceil(img.height * scale)))  # no-op unless JPEG
            img.load()  # full decode now, so truncation is an error rather than grey pixels later
            ImageOps.exif_transpose(img, in_place=True)
            image = _rgb_array(img)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except PermissionError:
        raise InputError(f"{path}: permission denied") from None
    except UnidentifiedImageError:
        raise InputError(f"{path}: not an image, or of an unsupported format") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InputError(
            f"{path}: image is larger than {MAX_PIXELS // 1_000_000} megapixels, refusing to decode it"
        ) from None
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        raise InputError(f"{path}: corrupt or unsupported image ({_one_line(e)})") from None
    if target is not None:
        image = resize_long_side(image, target)
        if size_option is not None:
            notice(f"downscaled {path.name} from {width}×{height} to {image.shape[1]}×{image.shape[0]} "
                   f"(use {size_option} to change)")
    return image


def write_image(path: str | os.PathLike[str], image: np.ndarray, quality: int = 95) -> None:
    """Write a uint8 H×W×3 RGB array atomically, in the format its extension names; ``quality`` is for JPEG/WebP.

    The data goes to a hidden temporary file in the same folder, is fsynced, then renamed over ``path``, so
    ``path`` never holds a partial image. Raises OutputError naming the file.
    """
    path = Path(path)
    fmt = output_format(path)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected a uint8 H×W×3 array, got {image.dtype} {image.shape}")
    if not path.parent.is_dir():
        raise OutputError(f"{path}: folder {path.parent} does not exist")
    options = {"quality": quality} if fmt in ("JPEG", "WEBP") else {}
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=path.suffix, dir=path.parent)
    except OSError as e:
        raise OutputError(f"cannot write {path}: {_one_line(e)}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            Image.fromarray(image).save(f, format=fmt, **options)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; give the permissions a plain open() would
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(e, (OSError, ValueError)):
            raise OutputError(f"cannot write {path}: {_one_line(e)}") from None
        raise


def output_format(path: str | os.PathLike[str]) -> str:
    """Pillow's format name for an output path's extension; OutputError listing the supported ones otherwise."""
    suffix = Path(path).suffix.lower()
    try:
        return _FORMATS[suffix]
    except KeyError:
        raise OutputError(
            f"{path}: unsupported output extension '{suffix}'; use one of {', '.join(IMAGE_EXTENSIONS)}"
        ) from None


def resize_long_side(image: np.ndarray, size: int) -> np.ndarray:
    """Resize an H×W×C array so its long side is ``size`` px, keeping the aspect ratio.

    Uses area averaging when shrinking and bicubic interpolation when growing; returns ``image`` itself if the
    long side already is ``size``.
    """
    height, width = image.shape[:2]
    scale = size / max(height, width)
    return resize_to(image, (max(1, round(width * scale)), max(1, round(height * scale))))


def resize_to(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize an H×W×C array to ``size`` (width, height): area averaging when shrinking, bicubic when growing;
    ``image`` itself when it already has that size."""
    height, width = image.shape[:2]
    if (width, height) == size:
        return image
    interpolation = cv2.INTER_AREA if size[0] * size[1] < width * height else cv2.INTER_CUBIC
    return cv2.resize(np.ascontiguousarray(image), size, interpolation=interpolation)


def _upright_size(img: Image.Image) -> tuple[int, int]:
    """Width and height after EXIF orientation is applied."""
    width, height = img.size
    if img.getexif().get(ExifTags.Base.Orientation) in _ROTATED_ORIENTATIONS:
        return height, width
    return width, height


def _rgb_array(img: Image.Image) -> np.ndarray:
    """A decoded Pillow image of any mode as a uint8 H×W×3 RGB array."""
    if img.mode in _WIDE_GRAY_MODES:
        # Keep the high byte of 16-bit samples, as Pillow itself does for 16-bit RGB PNGs (no clipping at 255).
        gray = (np.clip(np.asarray(img).astype(np.int64), 0, 65535) >> 8).astype(np.uint8)
        return np.repeat(gray[:, :, None], 3, axis=2)
    if img.mode in _ALPHA_MODES or "transparency" in img.info:
        rgba = img.convert("RGBA")
        img = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
    return np.array(img.convert("RGB"), dtype=np.uint8)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _one_line(error: BaseException) -> str:
    """An exception's message on one line, for error messages that quote it."""
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return " ".join(str(error).split()) or type(error).__name__
