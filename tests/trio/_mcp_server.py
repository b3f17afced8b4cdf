"""An MCP server (the mcp package's MCPServer, over stdio) for tests/trio/test_mcp.py.

``rendezvous`` proves calls run at once: each call waits (up to 10 s) until
``parties`` calls are in flight, and answers "met" or, if it waited alone, "alone".
``hang`` never returns; ``hang_report`` says how many hung calls the server saw
cancelled (the client's cancellation reached it).
"""

from __future__ import annotations

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.types import ImageContent, TextContent

server = MCPServer("test-tools")
arrived = 0
everyone = anyio.Event()
hung_cancelled = 0


@server.tool()
async def rendezvous(name: str, parties: int = 2) -> str:
    """Wait for the other calls."""
    global arrived
    arrived += 1
    if arrived >= parties:
        everyone.set()
    with anyio.move_on_after(10):
        await everyone.wait()
        return f"{name}: met"
    return f"{name}: alone"


@server.tool()
async def hang(name: str) -> str:
    """Never returns."""
    global hung_cancelled
    try:
        await anyio.sleep_forever()
    except anyio.get_cancelled_exc_class():
        hung_cancelled += 1
        raise
    return name


@server.tool()
def hang_report() -> str:
    """How many hung calls were cancelled."""
    return str(hung_cancelled)


@server.tool()
def picture() -> list[TextContent | ImageContent]:
    """Text and an image."""
    return [
        TextContent(type="text", text="a red dot"),
        ImageContent(type="image", data="iVBORw0KGgo=", mime_type="image/png"),
    ]


@server.tool()
def measure(region: str) -> dict[str, int]:
    """A structured result."""
    return {"stations": len(region)}


@server.tool()
def broken(city: str) -> str:
    """Always fails."""
    raise ValueError(f"the sensor in {city} is offline")


@server.resource("data://report.pdf", mime_type="application/pdf")
def report() -> bytes:
    """A PDF."""
    return b"%PDF-1.7 tiny"


@server.prompt()
def greet(name: str) -> str:
    """A greeting prompt."""
    return f"Say hello to {name}."


if __name__ == "__main__":
    server.run("stdio")
