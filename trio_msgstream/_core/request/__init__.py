"""One request: its spec and options, the client configuration, the
endpoints, the request session with its retry, status and rate-limit rules."""
