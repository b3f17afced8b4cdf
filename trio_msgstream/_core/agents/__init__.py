"""Agent loops: the tool runner's state machine."""
