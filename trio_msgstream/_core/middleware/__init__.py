"""Client middleware, the sans-IO part: the request a middleware sees, the chain's
rules, and the refusal-fallback middleware's rules (request patches, the splice of a
refused stream with its fallback's). The trio and sync drivers only call these."""
