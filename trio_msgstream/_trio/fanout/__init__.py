"""Fan-out: many concurrent streams under one scope (the scheduler, the
admission gate, item handles, results and events)."""
