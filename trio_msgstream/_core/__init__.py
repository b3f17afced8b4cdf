"""The sans-IO core: bytes and time in, events and decisions out. No trio, no httpx."""
