"""Command-line image arguments → input files → (input, output) path pairs, refusing to overwrite inputs."""

from __future__ import annotations

import os
from pathlib import Path

from stylecam.errors import InputError, OutputError
from stylecam.imaging.io import IMAGE_EXTENSIONS, output_format


def collect_inputs(items: list[str]) -> list[Path]:
    """Files as given (they must exist); folders expand to their images, sorted, not recursive, no hidden files."""
    inputs: list[Path] = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            try:
                images = sorted(
                    p
                    for p in path.iterdir()
                    if p.suffix.lower() in IMAGE_EXTENSIONS and not p.name.startswith(".") and p.is_file()
                )
            except OSError as e:
                raise InputError(f"{item}: cannot list folder ({e.strerror})") from None
            if not images:
                raise InputError(f"{item}: folder holds no images ({', '.join(IMAGE_EXTENSIONS)})")
            inputs.extend(images)
        elif path.is_file():
            inputs.append(path)
        else:
            raise InputError(f"{item}: no such file or folder")
    return inputs


def plan_outputs(
    inputs: list[Path], output: str | None, tag: str, default_ext: str = ".jpg"
) -> list[tuple[Path, Path]]:
    """Pair each (non-empty list of) input with the path its result is written to.

    ``output`` None: ``<stem>_<tag><ext>`` beside each input. ``output`` an existing folder, ending in '/', or
    several inputs: that folder (created if missing) holding ``<stem>_<tag><ext>``. Otherwise ``output`` is the
    single input's output file. ``<ext>`` is the input's if supported, else ``default_ext``. Raises OutputError
    if an output would overwrite an input, two outputs coincide, or the output cannot be placed.
    """
    folder: Path | None = None
    if output is None:
        pairs = [(p, p.with_name(_output_name(p, tag, default_ext))) for p in inputs]
    elif len(inputs) > 1 or output.endswith(("/", os.sep)) or Path(output).is_dir():
        folder = Path(output)
        if folder.exists() and not folder.is_dir():
            raise OutputError(f"{output}: is a file, but {len(inputs)} inputs need an output folder")
        pairs = [(p, folder / _output_name(p, tag, default_ext)) for p in inputs]
    else:
        target = Path(output)
        output_format(target)
        if not target.parent.is_dir():
            raise OutputError(f"{output}: folder {target.parent} does not exist")
        pairs = [(inputs[0], target)]
    _check_distinct(pairs)
    if folder is not None:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise OutputError(f"{output}: cannot create folder ({e.strerror})") from None
    return pairs


def _output_name(source: Path, tag: str, default_ext: str) -> str:
    ext = source.suffix if source.suffix.lower() in IMAGE_EXTENSIONS else default_ext
    return f"{source.stem}_{tag}{ext}"


def _check_distinct(pairs: list[tuple[Path, Path]]) -> None:
    """OutputError if an output is an input (same resolved path or same file, as os.path.samefile tests) or
    two outputs are the same path."""
    by_path = {source.resolve(): source for source, _ in pairs}
    by_file = {_file_id(source): source for source, _ in pairs if source.exists()}
    written: dict[Path, Path] = {}
    for source, out in pairs:
        key = out.resolve()
        victim = by_path.get(key) or (by_file.get(_file_id(out)) if out.exists() else None)
        if victim is not None:
            raise OutputError(f"output {out} would overwrite input {victim}")
        if key in written:
            raise OutputError(f"inputs {written[key]} and {source} would both be written to {out}")
        written[key] = source


def _file_id(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_dev, stat.st_ino
