"""The CLI's entry point: parse the command line first, import the client after.

``--help``, ``--version`` and usage errors are answered from :mod:`.options` alone
(argparse and the package's config), before the client, trio, httpx and pydantic are
imported; only a command line that will run imports :mod:`.main`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from .options import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, UsageError, build_parser, parse_options

__all__ = ["main"]


def _leaves(exc: BaseException) -> list[BaseException]:
    """The exceptions inside (nested) exception groups; ``[exc]`` for a plain one."""
    nested = getattr(exc, "exceptions", None)
    if not isinstance(nested, tuple):
        return [exc]
    return [leaf for inner in nested for leaf in _leaves(inner)]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m trio_msgstream`` and the ``trio-msgstream`` script.

    Args:
        argv: The arguments (default ``sys.argv[1:]``).

    Returns:
        The exit code: 0 ok, 1 API error, 2 usage error, 3 timeout, 130 interrupted.
    """
    try:
        options = parse_options(argv, sys.stdin)
    except UsageError as exc:
        from .output import err

        build_parser().print_usage(sys.stderr)
        err(str(exc))
        return EXIT_USAGE
    except SystemExit as exc:  # argparse: --help, --version, bad arguments
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    import trio

    from .._core.exceptions import MsgStreamError
    from .main import run
    from .output import describe_error, err, exit_code_for, model_notices

    try:
        with model_notices([options.model], err):
            return trio.run(run, options, sys.stdout)
    except BaseException as exc:
        leaves = _leaves(exc)
        if any(isinstance(leaf, KeyboardInterrupt) for leaf in leaves):
            err("interrupted")
            return EXIT_INTERRUPTED
        if len(leaves) == 1 and isinstance(leaves[0], UsageError):
            err(str(leaves[0]))  # settings found wanting once running (a platform's)
            return EXIT_USAGE
        if len(leaves) == 1 and isinstance(leaves[0], MsgStreamError):
            err(describe_error(leaves[0]))
            return exit_code_for(leaves[0])
        if len(leaves) == 1 and isinstance(leaves[0], BrokenPipeError):
            # stdout was closed (``| head``): not worth a traceback. Point stdout at
            # devnull so that the interpreter's final flush does not complain.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return EXIT_OK
        raise
