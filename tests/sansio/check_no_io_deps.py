"""Run by ``nox -s sansio_no_deps`` in an environment WITHOUT trio and httpx.

Loads the sans-IO core under a bare package object (the package ``__init__`` imports
every layer) and decodes and accumulates a recorded transcript with it.
"""

from __future__ import annotations

import importlib
import sys
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

for name in ("trio", "httpx"):
    try:
        importlib.import_module(name)
    except ImportError:
        continue
    sys.exit(f"{name} is installed: this check must run without it")

package = types.ModuleType("trio_msgstream")
package.__path__ = [str(ROOT / "trio_msgstream")]
sys.modules["trio_msgstream"] = package
engine_module = importlib.import_module("trio_msgstream._core.stream.engine")

engine = engine_module.StreamEngine()
body = (ROOT / "tests" / "fixtures" / "anthropic" / "docs_tool_use.sse").read_bytes()
for i in range(0, len(body), 7):  # small chunks on purpose
    engine.receive_data(body[i : i + 7])
engine.receive_eof()
message = engine.snapshot()
assert message is not None
assert message.content[1].input == {"location": "San Francisco, CA", "unit": "fahrenheit"}
print("sans-IO core OK without trio/httpx:", message.stop_reason)
