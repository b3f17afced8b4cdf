"""The event stream: bytes in, events and a message out (SSE and content
decoding, the grammar, the engine, the accumulator, lazy deltas, the consumer rules,
handlers)."""
