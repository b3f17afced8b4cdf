"""The synchronous client: the sans-IO core driven by ``httpx.Client``. No trio."""
