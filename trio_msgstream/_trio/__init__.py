"""The trio runtime: producer tasks, channels, cancel scopes. No httpx."""
