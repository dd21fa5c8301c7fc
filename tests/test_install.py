"""The install contract (pyproject.toml and the README's lines): one onnxruntime package at a time, the GPU line
brings onnxruntime-gpu and tensorrt and clears both onnxruntime packages first."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def requirement_names(requirements: list[str]) -> set[str]:
    return {re.split(r"[\s<>=!~;\[]", line, maxsplit=1)[0].lower() for line in requirements}


def test_each_extra_brings_exactly_one_onnxruntime():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = {name: requirement_names(lines) for name, lines in project["optional-dependencies"].items()}
    assert not {name for name in requirement_names(project["dependencies"]) if name.startswith("onnxruntime")}
    assert {name for name in extras["cpu"] if name.startswith("onnxruntime")} == {"onnxruntime"}
    assert {name for name in extras["gpu"] if name.startswith("onnxruntime")} == {"onnxruntime-gpu"}
    assert "tensorrt" in extras["gpu"] and not {n for n in extras["dev"] if n.startswith("onnxruntime")}


def test_readme_gpu_line_clears_both_packages_before_installing_the_gpu_extra():
    (line,) = [line for line in (ROOT / "README.md").read_text().splitlines() if "'.[gpu" in line]
    _, uninstall, install = line.partition("pip uninstall -y onnxruntime onnxruntime-gpu && ")
    assert uninstall and "pip install -e '.[gpu,dev]'" in install and "cpu" not in install
