"""The supported Pythons are the ones with upstream support (3.11 to 3.14 today), and
every place that names them agrees: ``requires-python``, the classifiers, the nox
sessions, mypy's and ruff's target, the type tests' pyright config and the docs."""

from __future__ import annotations

import ast
import json
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SUPPORTED = ["3.11", "3.12", "3.13", "3.14"]


def _pyproject() -> dict[str, object]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_pyproject_names_the_supported_pythons() -> None:
    data = _pyproject()
    project = data["project"]
    assert isinstance(project, dict)
    assert project["requires-python"] == f">={SUPPORTED[0]}"
    versions = [
        c.rsplit(" :: ", 1)[1]
        for c in project["classifiers"]
        if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)
    ]
    assert versions == SUPPORTED
    tool = data["tool"]
    assert isinstance(tool, dict)
    assert tool["mypy"]["python_version"] == SUPPORTED[0]
    assert tool["ruff"]["target-version"] == "py" + SUPPORTED[0].replace(".", "")


def test_nox_runs_the_suite_on_each() -> None:
    tree = ast.parse((ROOT / "noxfile.py").read_text())
    (pythons,) = [
        node.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "PYTHONS" for t in node.targets)
    ]
    assert ast.literal_eval(pythons) == SUPPORTED


def test_the_type_tests_check_the_oldest() -> None:
    config = json.loads((ROOT / "tests" / "type_tests" / "pyrightconfig.json").read_text())
    assert config["pythonVersion"] == SUPPORTED[0]


def test_the_docs_name_the_range() -> None:
    text = f"Python {SUPPORTED[0]} to {SUPPORTED[-1]}"
    for doc in ("README.md", "docs/index.md"):
        assert text in (ROOT / doc).read_text(), doc


def test_this_interpreter_is_supported() -> None:
    assert f"{sys.version_info.major}.{sys.version_info.minor}" in SUPPORTED
