"""Message Batches: the objects, the request builders, the calls, waiting
and the results reader."""
