"""The command line: ``python -m trio_msgstream`` / ``trio-msgstream``."""
