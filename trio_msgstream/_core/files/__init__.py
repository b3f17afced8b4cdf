"""The Files API (``client.beta.files``): models, multipart bodies and calls (sans-IO)."""
