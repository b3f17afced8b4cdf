"""Agents: the tool runner's state and the usage budgets of runs and groups (sans-IO)."""
