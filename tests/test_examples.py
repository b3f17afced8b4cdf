"""Every example in ``examples/`` runs as is, without an API key (embedded server).

``fan_out.py`` is tested with the fan-out feature, not here.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SKIP = {"fan_out.py"}

EXPECTED: dict[str, list[str]] = {
    "messages_stream.py": ['Hello there! You wrote 3 words: "Say hello there!"'],
    "messages_stream_handler.py": [
        "on_event fired with:",
        "TextEvent(text=",
        "accumulated message:",
        '"stop_reason": "end_turn"',
    ],
    "cancel_with_scope.py": ["--- cancelled after", "partial message msg_", "partial text ("],
    "tool_use.py": [
        "input_json: +",
        "snapshot={'location': 'example'",
        "stop_reason: tool_use",
        "parsed tool input for get_weather",
        "{'location': 'example', 'unit': 'celsius'}",
    ],
    "thinking.py": ["[thinking]", "[signature:", "[text]", "content blocks: ['thinking', 'text']"],
    "structured_output.py": [
        "parsed: Trip(city='Kyoto', days=3",
        "partial: {'city': 'Ky'}",
        "partial: {'city': 'Kyoto', 'days': 3, 'highlights': ['Fus']}",
        "final: Trip(city='Kyoto'",
        'refused: "I can\'t help with planning that."',
    ],
    "tool_runner.py": [
        "turn 1: ['text', 'tool_use', 'tool_use'], stop_reason=tool_use",
        "turn 2: ['text'], stop_reason=end_turn",
        "answer: Here is what I found: 3 flights to Lisbon",
        "tools running at once: 2",
    ],
    "sync_stream.py": [
        "Hello there!",
        "23 text deltas",
        "raw stream:",
        "message_start ... message_stop",
        "same text as the stream: True",
    ],
}


def _examples() -> list[str]:
    return sorted(p.name for p in EXAMPLES.glob("*.py") if p.name not in SKIP)


def test_every_example_has_expectations() -> None:
    assert set(_examples()) == set(EXPECTED)


@pytest.mark.parametrize("name", _examples())
def test_example_runs(name: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=EXAMPLES.parent,
    )
    assert result.returncode == 0, result.stderr
    assert "embedded local server" in result.stderr
    assert "Traceback" not in result.stderr
    for expected in EXPECTED.get(name, []):
        assert expected in result.stdout, f"{expected!r} missing from:\n{result.stdout}"
