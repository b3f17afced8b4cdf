"""The docs, the README and the examples name current models only.

The sets come from the library's own table (``_core/schema/model_names``, itself checked
against the SDK's lists): a model the table deprecates, or a name it does not know at
all (a model retired before the table began), fails here. The one exception is the
table of deprecated models in docs/types.md, which must equal ``DEPRECATED_MODELS``.
The CLI's documented default is its real one.
"""

from __future__ import annotations

import re
from pathlib import Path

from _cli_support import run_cli

from trio_msgstream._core.schema import model_names

ROOT = Path(__file__).resolve().parents[1]
MODEL = re.compile(r"\bclaude-[a-z0-9]+(?:[-.][a-z0-9]+)*")
TEXT_SUFFIXES = {".md", ".py", ".txt", ".toml", ".yml", ".yaml", ".json", ".jsonl", ".sh"}
TABLE_PAGE = ROOT / "docs" / "types.md"
TABLE_SECTION = "## Model names"


def _files() -> list[Path]:
    files = [ROOT / "README.md"]
    for folder in ("docs", "examples"):
        files += sorted(
            p for p in (ROOT / folder).rglob("*") if p.is_file() and p.suffix in TEXT_SUFFIXES
        )
    return files


def _section(text: str, heading: str) -> tuple[int, int]:
    """The line range ``[start, end)`` of a ``## `` section (0-based line numbers)."""
    lines = text.splitlines()
    start = lines.index(heading)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    return start, end


def _mentions(path: Path) -> list[tuple[int, str]]:
    return [
        (number, match.group(0))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        for match in MODEL.finditer(line)
    ]


def test_no_deprecated_or_unknown_model_in_docs_readme_examples() -> None:
    current = set(model_names.CURRENT_MODELS)
    deprecated = set(model_names.DEPRECATED_MODELS)
    start, end = _section(TABLE_PAGE.read_text(encoding="utf-8"), TABLE_SECTION)
    wrong = []
    assert sum(len(_mentions(path)) for path in _files()) > 20  # the scan sees the docs
    for path in _files():
        for number, name in _mentions(path):
            if name in current:
                continue
            if name in deprecated and path == TABLE_PAGE and start < number <= end:
                continue  # the documented table of deprecated models
            kind = "deprecated" if name in deprecated else "not a current model"
            wrong.append(f"{path.relative_to(ROOT)}:{number}: {name} ({kind})")
    assert not wrong, "\n".join(wrong)


def test_deprecated_table_in_types_md_is_the_library_table() -> None:
    text = TABLE_PAGE.read_text(encoding="utf-8")
    start, end = _section(text, TABLE_SECTION)
    documented: dict[str, str] = {}
    for line in text.splitlines()[start:end]:
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 2 and re.fullmatch(r"\d{4}-\d{2}-\d{2}", cells[1]):
            for name in re.findall(r"`([^`]+)`", cells[0]):
                documented[name] = cells[1]
    expected = {name: eol.isoformat() for name, eol in model_names.DEPRECATED_MODELS.items()}
    assert documented == expected


def test_cli_md_names_the_default_model_the_cli_uses() -> None:
    help_text = run_cli("--help").stdout
    defaults = re.findall(r"--model MODEL\s+default (\S+)", help_text)
    assert defaults == [model_names.DEFAULT_MODEL]
    cli_md = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    documented = re.findall(r"\| `--model NAME` \| the model \(default `([^`]+)`\)", cli_md)
    assert documented == [model_names.DEFAULT_MODEL]
