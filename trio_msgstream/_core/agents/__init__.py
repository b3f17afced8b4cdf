"""Agents: the tool runner's state machine and the usage budgets of runs and groups (sans-IO)."""
