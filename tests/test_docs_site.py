"""The documentation site: the API reference lists every public class and function,
every page is in the navigation, and contributor notes stay out of the site."""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

import trio_msgstream
import trio_msgstream.sansio
import trio_msgstream.types

ROOT = Path(__file__).resolve().parents[1]
API = (ROOT / "docs" / "api.md").read_text()
MKDOCS = (ROOT / "mkdocs.yml").read_text()

ALIASES = {"AsyncAnthropic", "AsyncMessageStream", "Anthropic", "beta_tool", "beta_async_tool"}
"""The SDK's names for things listed under their own name."""


def _documented() -> set[str]:
    return {match.split(".")[-1] for match in re.findall(r"^::: ([\w.]+)", API, re.MULTILINE)}


TYPES_LISTED = {
    "Message",
    "Usage",
    "TextBlock",
    "ToolUseBlock",
    "ServerToolUseBlock",
    "ThinkingBlock",
    "RedactedThinkingBlock",
    "WebSearchToolResultBlock",
    "UnknownBlock",
    "TextDelta",
    "InputJSONDelta",
    "ThinkingDelta",
    "SignatureDelta",
    "CitationsDelta",
    "UnknownDelta",
    "TextEvent",
    "InputJsonEvent",
    "ThinkingEvent",
    "SignatureEvent",
    "CitationEvent",
    "ParsedOutputEvent",
    "MessageStopEvent",
    "ContentBlockStopEvent",
    "UnknownEvent",
    "RawMessageStartEvent",
    "RawContentBlockDeltaEvent",
    "RawMessageDeltaEvent",
    "RawPingEvent",
}
"""The API objects the reference lists; the hundreds of generated request and response
types of ``trio_msgstream.types`` are described in docs/types.md."""


def test_api_reference_lists_every_public_class_and_function() -> None:
    documented = _documented()
    missing = []
    for module in (trio_msgstream, trio_msgstream.sansio):
        for name in module.__all__:
            value = getattr(module, name)
            if name in ALIASES or not (inspect.isclass(value) or inspect.isfunction(value)):
                continue
            if name not in documented:
                missing.append(f"{module.__name__}.{name}")
    missing += [f"trio_msgstream.types.{n}" for n in sorted(TYPES_LISTED - documented)]
    assert not missing, f"docs/api.md lacks {missing}"


def test_api_reference_names_exist() -> None:
    for dotted in re.findall(r"^::: ([\w.]+)", API, re.MULTILINE):
        module_name, _, name = dotted.rpartition(".")
        module = importlib.import_module(module_name)
        assert hasattr(module, name), dotted


def test_every_page_is_in_the_nav_and_the_brief_is_excluded() -> None:
    pages = {path.name for path in (ROOT / "docs").glob("*.md")}
    nav = set(re.findall(r"^\s+- .*?:\s*([\w-]+\.md)\s*$", MKDOCS, re.MULTILINE))
    hidden: set[str] = set()
    if "not_in_nav: |" in MKDOCS:  # pages built but reached by links only
        for line in MKDOCS.split("not_in_nav: |", 1)[1].splitlines()[1:]:
            if not line.startswith("  "):
                break
            hidden.add(line.strip())
    assert pages - nav - hidden == {"internal-brief.md"}
    excluded = MKDOCS.split("exclude_docs: |", 1)[1].splitlines()[1].strip()
    assert excluded == "internal-brief.md"
