"""Model names: the current ones, the deprecated ones and their end-of-life dates.

Part of the sans-IO core (no trio, no httpx). This is the one table of model names in
the project: the CLI default, the fake server, the docs and the examples take
:data:`DEFAULT_MODEL` from here, and the request path calls :func:`warn_if_deprecated`
before sending.

A deprecated model still works until its end-of-life date; a request for it warns with
a :class:`DeprecationWarning` that names the date (once it has passed, the warning says
so: the API will refuse the model). A model past its end of life is never a default.
The table is checked against the official SDK's lists by the test suite.
"""

from __future__ import annotations

import datetime
import sys
import warnings
from typing import Final

__all__ = [
    "CURRENT_MODELS",
    "DEFAULT_MODEL",
    "DEPRECATED_MODELS",
    "deprecation_notice",
    "end_of_life",
    "warn_if_deprecated",
]

DEPRECATED_MODELS: Final[dict[str, datetime.date]] = {
    "claude-mythos-preview": datetime.date(2026, 6, 30),
    "claude-opus-4-5": datetime.date(2027, 1, 22),
    "claude-opus-4-5-20251101": datetime.date(2027, 1, 22),
    "claude-sonnet-4-5": datetime.date(2026, 11, 30),
    "claude-sonnet-4-5-20250929": datetime.date(2026, 11, 30),
}
"""Deprecated model names and the day each reaches (or reached) end of life."""

CURRENT_MODELS: Final[tuple[str, ...]] = (
    "claude-fable-5-2",
    "claude-mythos-5-2",
    "claude-haiku-5-5",
    "claude-sonnet-5-5",
    "claude-fable-5-1",
    "claude-opus-5-5",
    "claude-mythos-5-1",
    "claude-sonnet-5",
    "claude-fable-5",
    "claude-mythos-5",
    "claude-opus-5",
    "claude-opus-4-8",
    "claude-opus-4-7",
    "claude-opus-4-6",
    "claude-sonnet-4-6",
    "claude-haiku-4-5",
    "claude-haiku-4-5-20251001",
)
"""Model names the API lists that are not deprecated, newest families first."""

DEFAULT_MODEL: Final = "claude-sonnet-5-5"
"""The model used where none is given (CLI, fake server, examples): a current one."""


def end_of_life(model: str) -> datetime.date | None:
    """The end-of-life date of a deprecated model, or ``None`` if it is not deprecated."""
    return DEPRECATED_MODELS.get(model)


def deprecation_notice(model: str, *, today: datetime.date | None = None) -> str | None:
    """What to tell the user of a deprecated ``model`` (its end-of-life date, whether
    it has passed, and a current model to use); ``None`` when it is not deprecated.

    The text of :func:`warn_if_deprecated`'s warning, for callers that say it in their
    own words (the CLI prints it as one line on stderr).

    Args:
        model: The model name of a request.
        today: The current date (for tests); the local date by default.
    """
    eol = DEPRECATED_MODELS.get(model)
    if eol is None:
        return None
    today = today if today is not None else datetime.date.today()
    when = eol.isoformat()
    if today > eol:
        text = f"The model {model!r} reached end of life on {when}; the API no longer serves it."
    elif today == eol:
        text = f"The model {model!r} reaches end of life today, {when}."
    else:
        text = f"The model {model!r} is deprecated and reaches end of life on {when}."
    return text + f" Migrate to a current model such as {DEFAULT_MODEL!r}."


def warn_if_deprecated(model: str, *, today: datetime.date | None = None) -> None:
    """Warn with :class:`DeprecationWarning` when ``model`` is deprecated.

    The warning (the text of :func:`deprecation_notice`) names the end-of-life date, and
    is attributed to the first frame outside this package, so
    ``-W error::DeprecationWarning`` and warning filters point at the user's call.

    Args:
        model: The model name of a request.
        today: The current date (for tests); the local date by default.
    """
    text = deprecation_notice(model, today=today)
    if text is not None:
        warnings.warn(text, DeprecationWarning, stacklevel=_user_stacklevel())


def _user_stacklevel() -> int:
    # Count frames up to the first one whose module is not part of this package (nor
    # trio, which runs our tasks), so the warning points at the user's code.
    frame = sys._getframe(1)
    level = 1
    while frame is not None:
        name = frame.f_globals.get("__name__", "")
        if not (name.startswith("trio_msgstream.") or name == "trio_msgstream"):
            if not (name == "trio" or name.startswith(("trio.", "outcome"))):
                return level
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return 1
