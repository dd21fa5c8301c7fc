"""The package's layers, read from the source with ``ast`` (every import, also those inside functions): the
runtime serves the apps from one floor below them, offline video, stills and export never reach into the live
app, export never imports the runtime, and no two packages import each other in a circle."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "stylecam"


def module_name(path: Path) -> str:
    """``stylecam/video/reader.py`` → ``stylecam.video.reader`` (a package's ``__init__`` is the package)."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """Every ``stylecam`` module or name the file imports, wherever the import statement is."""
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {name for name in found if name == "stylecam" or name.startswith("stylecam.")}


def layer(name: str) -> str | None:
    """The subpackage or top-level module of ``stylecam`` a dotted name lies in (None for ``stylecam`` itself)."""
    parts = name.split(".")
    if len(parts) < 2:
        return None
    return parts[1] if (PACKAGE / parts[1]).is_dir() or (PACKAGE / f"{parts[1]}.py").is_file() else None


def sources(*layers: str) -> list[Path]:
    return sorted(path for name in layers for path in (PACKAGE / name).rglob("*.py"))


def offenders(files: list[Path], forbidden: tuple[str, ...]) -> list[str]:
    return [f"{module_name(path)} imports {name}" for path in files for name in sorted(imported_modules(path))
            if layer(name) in forbidden]


def layer_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        own = layer(module_name(path))
        if own is None:
            continue
        targets = {layer(name) for name in imported_modules(path)} - {None, own}
        graph.setdefault(own, set()).update(t for t in targets if t is not None)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One circle of imports between layers, as a path that returns to its start, or None."""
    state: dict[str, str] = {}

    def visit(node: str, trail: list[str]) -> list[str] | None:
        state[node] = "open"
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                return [*trail[trail.index(target):], target] if target in trail else [node, target]
            if target not in state and (cycle := visit(target, [*trail, target])):
                return cycle
        state[node] = "done"
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start, [start])):
            return cycle
    return None


def test_the_reader_sees_imports_anywhere_in_a_file(tmp_path, monkeypatch):
    fake = tmp_path / "stylecam"
    (fake / "video").mkdir(parents=True)
    (fake / "realtime").mkdir()
    (fake / "realtime" / "__init__.py").write_text("")
    probe = fake / "video" / "probe.py"
    probe.write_text("import os\nimport stylecam.realtime.loop\n\n\ndef late():\n"
                     "    from stylecam.realtime import recorder\n    from ..realtime.keys import HELP\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", fake)
    assert imported_modules(probe) == {"stylecam.realtime.loop", "stylecam.realtime", "stylecam.realtime.recorder",
                                       "stylecam.realtime.keys", "stylecam.realtime.keys.HELP"}
    assert offenders([probe], ("realtime",)) == [f"stylecam.video.probe imports {n}" for n in sorted(
        imported_modules(probe))]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_offline_video_stills_and_export_do_not_import_the_live_app():
    assert offenders(sources("video", "stylize", "export"), ("realtime",)) == []


def test_the_runtime_sits_below_every_app():
    assert offenders(sources("runtime"), ("realtime", "video", "stylize", "cli", "training")) == []


def test_export_does_not_import_the_runtime():
    assert offenders(sources("export"), ("runtime",)) == []


def test_the_live_app_keeps_no_backends_of_its_own():
    assert not (PACKAGE / "realtime" / "backends").exists()
    assert (PACKAGE / "runtime" / "select.py").is_file()


def test_no_two_packages_import_each_other_in_a_circle():
    graph = layer_graph()
    assert {"runtime", "export", "realtime", "video", "cli"} <= graph.keys()
    assert find_cycle(graph) is None
