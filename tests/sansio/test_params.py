"""Request parameter types (against the SDK's) and the API-version rules."""

from __future__ import annotations

from typing import Any, Required, get_origin, get_type_hints

import anthropic.types.beta.message_create_params as BM
import anthropic.types.message_count_tokens_params as RC
import anthropic.types.message_create_params as RM
import pytest

import trio_msgstream as tms
from trio_msgstream._core.schema.params import API_VERSION_RULES, check_params
from trio_msgstream.types import MessageCountTokensParams, MessageCreateParams, TextBlockParam

USER = {"role": "user", "content": "hi"}


def required(cls: Any) -> set[str]:
    hints = get_type_hints(cls, include_extras=True)
    return {key for key, ann in hints.items() if get_origin(ann) is Required}


def test_the_roots_have_every_sdk_parameter_and_the_right_required_keys() -> None:
    ours = set(get_type_hints(MessageCreateParams, include_extras=True))
    sdk = set(RM.MessageCreateParamsBase.__annotations__) | set(
        BM.MessageCreateParamsBase.__annotations__
    )
    assert sdk - {"betas"} <= ours
    assert required(MessageCreateParams) == {"model", "max_tokens", "messages"}
    assert set(RC.MessageCountTokensParams.__annotations__) <= set(
        get_type_hints(MessageCountTokensParams, include_extras=True)
    )
    assert required(MessageCountTokensParams) == {"model", "messages"}
    assert required(TextBlockParam) == {"type", "text"}


@pytest.mark.parametrize("name", ["temperature", "top_p", "top_k"])
def test_sampling_parameters_are_rejected_under_2026_10_21(name: str) -> None:
    params = {"model": "m", "max_tokens": 1, "messages": [USER], name: 1}
    with pytest.raises(tms.RequestParameterError, match=f"'{name}'.*2023-06-01"):
        check_params(params, "2026-10-21")
    with pytest.raises(ValueError, match=name):  # a ValueError too
        check_params({"messages": [], "extra_body": {name: 1}}, "2026-10-21")
    check_params(params, "2023-06-01")


def test_message_content_rules_under_2026_10_21() -> None:
    document = {"type": "document", "source": {"type": "text", "media_type": "text/plain"}}
    assistant_doc = {"messages": [USER, {"role": "assistant", "content": [document]}]}
    with pytest.raises(tms.RequestParameterError, match=r"messages\[1\]: a document block"):
        check_params(assistant_doc, "2026-10-21")
    check_params(assistant_doc, "2023-06-01")
    check_params({"messages": [{"role": "user", "content": [document]}]}, "2026-10-21")

    cited = {"type": "text", "text": "x", "citations": [{"type": "char_location"}]}
    with pytest.raises(tms.RequestParameterError, match="citations on a text block"):
        check_params({"messages": [{"role": "user", "content": [cited]}]}, "2026-10-21")
    check_params(
        {"messages": [{"role": "user", "content": [{**cited, "citations": []}]}]}, "2026-10-21"
    )
    check_params({"messages": [{"role": "assistant", "content": [cited]}]}, "2026-10-21")


def test_response_blocks_sent_back_are_checked_too() -> None:
    block = tms.types.TextBlock(text="x", citations=[{"type": "char_location", "cited_text": "x"}])
    with pytest.raises(tms.RequestParameterError):
        check_params({"messages": [{"role": "user", "content": [block]}]}, "2026-10-21")


def test_unknown_versions_are_not_checked_and_the_table_knows_both() -> None:
    check_params({"temperature": 1}, "2099-01-01")
    assert set(API_VERSION_RULES) == {"2023-06-01", "2026-10-21"}
