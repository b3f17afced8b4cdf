"""Error classes and model names against the official SDK (the test-only oracle)."""

from __future__ import annotations

import datetime
import re
import warnings
from typing import get_args

import anthropic
import pytest
from anthropic._data import DEPRECATED_MODELS as SDK_DEPRECATED
from anthropic.types.model import Model as SDKModel

import trio_msgstream
from trio_msgstream import errors
from trio_msgstream._core.exceptions import error_code_of, status_error_class
from trio_msgstream._core.schema import model_names


def _sdk_error_names() -> list[str]:
    return [
        name
        for name in anthropic.__all__
        if isinstance(getattr(anthropic, name), type)
        and issubclass(getattr(anthropic, name), BaseException)
    ]


def test_every_sdk_error_name_exists_at_the_top_level_and_in_errors() -> None:
    names = _sdk_error_names()
    assert len(names) >= 40
    for name in names:
        assert issubclass(getattr(trio_msgstream, name), trio_msgstream.MsgStreamError), name
        assert getattr(errors, name) is getattr(trio_msgstream, name), name


def test_the_hierarchy_follows_the_sdk() -> None:
    # Each SDK class's nearest SDK base is one of our class's bases too (by name),
    # except OverloadedError (ours stays directly under APIStatusError).
    for name in _sdk_error_names():
        sdk_cls = getattr(anthropic, name)
        ours = getattr(trio_msgstream, name)
        for base in sdk_cls.__mro__[1:]:
            if base.__name__ in {"Exception", "BaseException", "object"}:
                continue
            if name == "OverloadedError" and base.__name__ == "InternalServerError":
                continue
            assert issubclass(ours, getattr(trio_msgstream, base.__name__)), (name, base)


_WITH_STATUS = [
    name
    for name in _sdk_error_names()
    if isinstance(getattr(getattr(anthropic, name), "status_code", None), int)
]


@pytest.mark.parametrize("name", _WITH_STATUS)
def test_status_codes_map_as_the_sdk_maps(name: str) -> None:
    sdk_cls = getattr(anthropic, name)
    status = sdk_cls.status_code
    from anthropic import _error_classes

    codes = [code for (st, code), cls in _error_classes.ERROR_CLASSES.items() if cls is sdk_cls]
    code = codes[0] if codes else None
    ours = status_error_class(status, code)
    assert ours is getattr(trio_msgstream, name) or issubclass(ours, getattr(trio_msgstream, name))


def test_error_code_is_read_from_the_body() -> None:
    body = {"type": "error", "error": {"type": "rate_limit_error", "details": {"error_code": "x"}}}
    assert error_code_of(body) == "x"
    assert error_code_of({"error": "nope"}) is None
    assert error_code_of(None) is None
    assert status_error_class(408) is trio_msgstream.RequestTimeoutError
    assert status_error_class(504) is trio_msgstream.GatewayTimeoutError
    assert status_error_class(529) is trio_msgstream.OverloadedError
    assert status_error_class(429, "ramp_limit_exceeded") is trio_msgstream.RampLimitExceededError
    assert status_error_class(400, "ramp_limit_exceeded") is trio_msgstream.BadRequestError


_MONTHS = {
    m: i
    for i, m in enumerate(
        [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ],
        start=1,
    )
}


def _sdk_date(text: str) -> datetime.date:
    month, day, year = re.fullmatch(r"(\w+) (\d+)\w*, (\d{4})", text).groups()  # type: ignore[union-attr]
    return datetime.date(int(year), _MONTHS[month], int(day))


def test_the_model_table_matches_the_sdk() -> None:
    expected = {name: _sdk_date(when) for name, when in SDK_DEPRECATED.items()}
    sdk_models = [m for m in get_args(get_args(SDKModel)[0])]
    # Every model the SDK lists as deprecated is, with the same date. A newer SDK
    # drops a model past its end of life from both of its lists; the table keeps it,
    # so a request for it still warns that the API no longer serves it.
    ours = model_names.DEPRECATED_MODELS
    assert {name: ours.get(name) for name in expected} == expected
    for name, eol in ours.items():
        if name not in expected:
            assert name not in sdk_models, name
            assert eol < datetime.date.today(), name
    assert set(model_names.CURRENT_MODELS) == set(sdk_models) - set(ours)
    assert model_names.DEFAULT_MODEL in model_names.CURRENT_MODELS
    assert model_names.DEPRECATED_MODELS["claude-sonnet-4-5"] == datetime.date(2026, 11, 30)


def test_a_deprecated_model_warns_with_its_end_of_life_at_the_callers_line() -> None:
    with pytest.warns(DeprecationWarning, match="2027-01-22") as record:
        model_names.warn_if_deprecated("claude-opus-4-5", today=datetime.date(2026, 11, 30))
    assert record[0].filename == __file__
    with pytest.warns(DeprecationWarning, match="reaches end of life today, 2026-11-30"):
        model_names.warn_if_deprecated("claude-sonnet-4-5", today=datetime.date(2026, 11, 30))
    with pytest.warns(DeprecationWarning, match="reached end of life on 2026-06-30"):
        model_names.warn_if_deprecated("claude-mythos-preview")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model_names.warn_if_deprecated(model_names.DEFAULT_MODEL)
        model_names.warn_if_deprecated("a-model-nobody-knows")
