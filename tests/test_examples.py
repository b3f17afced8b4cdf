"""Every example in ``examples/`` runs as is, without an API key (embedded server).

``fan_out.py`` is tested with the fan-out feature, not here. Users run the examples as
scripts, so the tests do too: each run is a process of its own (forked from one that
has done the imports, ``tests/_forkserver.py``), marked ``slow``.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from _forkserver import ForkServer
from _shared import env_without_anthropic

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SKIP = {"fan_out.py"}

EXPECTED: dict[str, list[str]] = {
    "messages_stream.py": ['Hello there! You wrote 3 words: "Say hello there!"'],
    "messages_stream_handler.py": [
        "on_event fired with:",
        "on_event fired with: type='content_block_delta'",
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


@pytest.mark.slow
@pytest.mark.parametrize("name", _examples())
def test_example_runs(name: str, fork_server: ForkServer) -> None:
    # Its own process, as a user runs it (forked from one that did the imports).
    result = fork_server.run(EXAMPLES / name, cwd=EXAMPLES.parent, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "embedded local server" in result.stderr
    assert "Traceback" not in result.stderr
    for expected in EXPECTED.get(name, []):
        assert expected in result.stdout, f"{expected!r} missing from:\n{result.stdout}"


DECLARED = {"trio", "httpx", "pydantic", "outcome", "h11", "trio_msgstream"}
"""What an example may import besides the standard library: the runtime dependencies."""


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("*.py")))
def test_example_imports_only_declared_packages(name: str) -> None:
    tree = ast.parse((EXAMPLES / name).read_text())
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            imported.add(node.module.split(".")[0])
    undeclared = imported - DECLARED - set(sys.stdlib_module_names) - {"__future__"}
    assert not undeclared, f"{name} imports undeclared packages: {sorted(undeclared)}"


@pytest.mark.slow
def test_fan_out_example_is_readable_when_piped() -> None:
    env = env_without_anthropic()
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "fan_out.py"), "-n", "3"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=EXAMPLES.parent,
    )
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stdout
    lines = result.stdout.splitlines()
    # One line per state change (streaming, done) per prompt, not one per delta.
    for key in ("prompt-0", "prompt-1", "prompt-2"):
        assert sum(line.startswith(f"[{key}] ") for line in lines) == 2
        assert any(line.startswith(f"[{key}] done (") for line in lines)
    assert lines[-5].split() == ["key", "status", "chars", "ttft", "duration", "tokens"]


@pytest.mark.slow
def test_handler_example_prints_once_per_api_event(fork_server: ForkServer) -> None:
    # The seed: on_stream_event "is fired when an event is received from the API", so
    # once per event the API sent; the derived text events go to on_text alone.
    result = fork_server.run(
        EXAMPLES / "messages_stream_handler.py", cwd=EXAMPLES.parent, timeout=60
    )
    assert result.returncode == 0, result.stderr
    fired = result.stdout.split("on_event fired with: ")[1:]
    kinds = [
        chunk.split("'", 2)[1] if chunk.startswith("type='") else chunk[:20] for chunk in fired
    ]
    assert not [k for k in kinds if not k.isidentifier()], kinds  # no derived event objects
    assert kinds[0] == "message_start"
    assert kinds[-1] == "message_stop"
    assert kinds.count("message_start") == kinds.count("message_stop") == 1
    assert kinds.count("content_block_start") == kinds.count("content_block_stop") == 1
    assert kinds.count("message_delta") == 1
    # One line per text delta: as many as on_text printed pieces.
    assert kinds.count("content_block_delta") == 23
