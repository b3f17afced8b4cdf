"""``python -m trio_msgstream "Say hello there!"``: stream a prompt (see ``_cli``)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from ._cli.entry import main as _stream_main

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: ``batch ...`` goes to the batch commands, the rest streams."""
    args = sys.argv[1:] if argv is None else list(argv)
    if args[:1] == ["batch"]:
        from ._cli.batch import main as batch_main

        return batch_main(args[1:])
    return _stream_main(argv)


if __name__ == "__main__":
    sys.exit(main())
