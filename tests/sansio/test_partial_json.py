"""The incremental JSON parser: any cut gives json.loads's value; partial reads; errors."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trio_msgstream._core.typed_json.partial_json import PartialJSONParser

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**12), max_value=10**12)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=25,
)


def _feed_in_pieces(text: str, cuts: list[int]) -> PartialJSONParser:
    parser = PartialJSONParser()
    previous = 0
    for cut in [*sorted(set(cuts)), len(text)]:
        parser.feed(text[previous:cut])
        parser.value()  # reading in between must not disturb parsing
        previous = cut
    parser.finish()
    return parser


@settings(max_examples=300, deadline=None)
@given(
    value=JSON_VALUES,
    ensure_ascii=st.booleans(),
    indent=st.sampled_from([None, 2]),
    data=st.data(),
)
def test_any_cut_gives_the_same_value(
    value: Any, ensure_ascii: bool, indent: int | None, data: st.DataObject
) -> None:
    text = json.dumps(value, ensure_ascii=ensure_ascii, indent=indent)
    cuts = data.draw(st.lists(st.integers(min_value=0, max_value=len(text)), max_size=30))
    parser = _feed_in_pieces(text, cuts)
    assert parser.error is None
    assert parser.complete
    assert parser.value() == json.loads(text)


def test_escapes_cut_anywhere() -> None:
    value = {"s": 'a\\"b\u00e9\U0001f600\n\t/', "k\\": ["\\\\", '"']}
    text = json.dumps(value)
    for cut in range(len(text) + 1):
        for cut2 in range(cut, len(text) + 1, 3):
            assert _feed_in_pieces(text, [cut, cut2]).value() == value


def test_partial_reads_show_what_has_arrived() -> None:
    parser = PartialJSONParser()
    parser.feed('{"name": "Ada", "tags": ["ma')
    assert parser.value() == {"name": "Ada", "tags": ["ma"]}
    parser.feed('th", "x\\u00')
    assert parser.value() == {"name": "Ada", "tags": ["math", "x"]}
    parser.feed('e9y"], "n": 12')
    # an unfinished number is left out until it is complete
    assert parser.value() == {"name": "Ada", "tags": ["math", "xéy"]}
    parser.feed("3, ")
    assert parser.value() == {"name": "Ada", "tags": ["math", "xéy"], "n": 123}
    parser.feed('"flag": tr')
    assert "flag" not in parser.value()
    parser.feed("ue}")
    assert parser.complete
    assert parser.value() == {"name": "Ada", "tags": ["math", "xéy"], "n": 123, "flag": True}


def test_an_unfinished_key_is_left_out() -> None:
    parser = PartialJSONParser()
    parser.feed('{"a": 1, "lo')
    assert parser.value() == {"a": 1}
    parser.feed('ng": ')
    assert parser.value() == {"a": 1}


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ('{"a" 1}', "expected ':'"),
        ("[1,]", "unexpected ']'"),
        ('{"a":1} 2', "after the JSON value"),
        ("Sure! Here is", "unexpected 'S'"),
        ('{"a":tru}', "invalid literal"),
        ('{"a":1', "ends before the value is complete"),
        ("[1.2.3]", "invalid number"),
    ],
)
def test_errors_say_why(text: str, why: str) -> None:
    parser = PartialJSONParser()
    parser.feed(text)
    parser.finish()
    assert parser.error is not None
    assert why in parser.error


def test_feeding_is_linear_in_the_text() -> None:
    # One character at a time over a long string: every character is scanned once.
    # (A re-parse per piece would do ~n^2/2 = 5e11 character steps here.)
    text = json.dumps({"essay": "word " * 200_000, "n": list(range(10_000))})
    parser = PartialJSONParser()
    step = 7
    for i in range(0, len(text), step):
        parser.feed(text[i : i + step])
    parser.finish()
    assert parser.value() == json.loads(text)
