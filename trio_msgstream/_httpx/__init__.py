"""The httpx glue: httpx requests and responses seen through the runtime's seams."""
