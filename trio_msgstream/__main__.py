"""``python -m trio_msgstream "Say hello there!"``: stream a prompt (see ``_cli``)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from ._cli.entry import main as _stream_main

__all__ = ["main"]


_SHARED_OPTIONS = ("--base-url", "--timeout", "--max-retries")
"""The options of the streaming command that the batch commands take too."""


def _batch_args(args: list[str]) -> list[str] | None:
    """The arguments of ``batch`` when the command line is ``[shared options] batch
    ...`` (``--base-url URL batch submit F`` as well as ``batch submit F``), else
    ``None``: the command streams."""
    index = 0
    while index < len(args) and args[index].split("=", 1)[0] in _SHARED_OPTIONS:
        index += 1 if "=" in args[index] else 2
    if index < len(args) and args[index] == "batch":
        return args[:index] + args[index + 1 :]
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: ``batch ...`` goes to the batch commands, the rest streams."""
    args = sys.argv[1:] if argv is None else list(argv)
    batch_args = _batch_args(args)
    if batch_args is not None:
        from ._cli.batch import main as batch_main

        return batch_main(batch_args)
    return _stream_main(argv)


if __name__ == "__main__":
    sys.exit(main())
