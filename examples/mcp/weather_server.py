#!/usr/bin/env python
"""A small MCP server (the ``mcp`` package's own ``MCPServer``) over stdio.

Started by ``examples/mcp/agent.py`` as a subprocess. Its tools, resource and prompt
are what ``trio_msgstream.mcp`` converts: text results, structured results, an error
result, a text resource and a prompt.

Run alone: ``python examples/mcp/weather_server.py`` (it speaks MCP on stdin/stdout).
"""

from __future__ import annotations

import anyio
from mcp.server.mcpserver import MCPServer

server = MCPServer("weather")

FORECASTS = {"Oslo": "snow, -3 °C", "Lisbon": "sunny, 19 °C", "Kyoto": "rain, 11 °C"}


@server.tool()
async def forecast(city: str) -> str:
    """Tomorrow's weather in a city."""
    await anyio.sleep(0.2)  # a slow backend: the agent calls it for two cities at once
    return f"{city}: {FORECASTS.get(city, 'no data')}"


@server.tool()
def station_count(region: str) -> dict[str, int]:
    """How many weather stations a region has (a structured result)."""
    return {"stations": len(region) * 3}


@server.tool()
def broken(city: str) -> str:
    """A tool that always fails (its error goes back to the model as an error result)."""
    raise ValueError(f"the sensor in {city} is offline")


@server.resource("weather://stations/readme.txt", mime_type="text/plain")
def readme() -> str:
    """About the station network."""
    return "Stations report every ten minutes."


@server.prompt()
def plan_trip(city: str) -> str:
    """Ask for a trip plan that takes the weather into account."""
    return f"Plan a day in {city}; check the forecast first."


if __name__ == "__main__":
    server.run("stdio")
