"""The endpoints beside the Messages stream: ``create()``, token counting, the models list.

Part of the sans-IO core: each endpoint is a function returning a
:class:`~trio_msgstream._core.request.calls.Call` (or a :class:`PageCall`), built once here and
executed by both clients' drivers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from urllib.parse import quote

from pydantic import Field

from ..schema.model_names import warn_if_deprecated
from ..schema.models import APIModel, Message
from ..typed_json.structured import OutputParser, ParsedMessage, as_parsed_message, output_parser
from .calls import Call, PageCall, model_parser
from .client_config import BETA_MARK, MESSAGES_PATH, ClientConfig
from .options import RequestOptions, split_options
from .spec import RequestSpec

__all__ = [
    "COUNT_TOKENS_PATH",
    "MODELS_PATH",
    "MessageCreate",
    "MessageTokensCount",
    "ModelListParams",
    "ModelRetrieveParams",
    "ModelInfo",
    "ModelPage",
    "count_tokens_call",
    "message_create",
    "models_list_call",
    "models_retrieve_call",
    "parsed_reply",
]

COUNT_TOKENS_PATH = MESSAGES_PATH + "/count_tokens"
MODELS_PATH = "/v1/models"


class MessageTokensCount(APIModel):
    """The answer of ``messages.count_tokens``."""

    input_tokens: int
    """Tokens the request's messages, system prompt and tools would take."""


class ModelInfo(APIModel):
    """A model, as ``models.list`` and ``models.retrieve`` describe it."""

    type: Literal["model"] = "model"
    id: str
    display_name: str = ""
    created_at: datetime | None = None
    lifecycle: str | None = None
    """``active``, ``deprecated`` or ``retired``."""
    deprecated_at: datetime | None = None
    retires_at: datetime | None = None
    line: str | None = None
    max_input_tokens: int | None = None
    max_tokens: int | None = None
    capabilities: dict[str, Any] | None = None


class ModelPage(APIModel):
    """One page of ``models.list``."""

    data: list[ModelInfo] = Field(default_factory=list)
    has_more: bool = False
    first_id: str | None = None
    last_id: str | None = None


def count_tokens_call(
    config: ClientConfig[Any, Any], kwargs: Mapping[str, Any], *, betas: Sequence[str] | None = None
) -> Call[MessageTokensCount]:
    """``POST /v1/messages/count_tokens`` for an entry point's keyword arguments."""
    params, options = split_options(kwargs)
    if "betas" in params:
        betas = [*(betas or ()), *params.pop("betas")]
    if isinstance(params.get("model"), str):
        warn_if_deprecated(params["model"])
    spec = config.build_request(
        "POST", COUNT_TOKENS_PATH, body=params, options=options, betas=betas
    )
    return Call(spec, model_parser(MessageTokensCount), "count_tokens")


class ModelListParams(RequestOptions, total=False):
    """The arguments of ``models.list``."""

    limit: int
    """Items per page (1 to 1000; the API's default is 20)."""
    after_id: str
    """List the models after this one."""
    before_id: str
    """List the models before this one."""
    betas: Sequence[str]
    """Beta features (the ``anthropic-beta`` header)."""


class ModelRetrieveParams(RequestOptions, total=False):
    """The keyword arguments of ``models.retrieve``."""

    betas: Sequence[str]
    """Beta features (the ``anthropic-beta`` header)."""


def _only_options(
    kwargs: Mapping[str, Any], allowed: frozenset[str]
) -> tuple[dict[str, Any], RequestOptions]:
    params, options = split_options(kwargs)
    unknown = set(params) - allowed
    if unknown:
        raise TypeError(f"unexpected keyword argument(s): {', '.join(sorted(unknown))}")
    return params, options


def models_retrieve_call(
    config: ClientConfig[Any, Any], model_id: str, kwargs: Mapping[str, Any]
) -> Call[ModelInfo]:
    """``GET /v1/models/{model_id}``."""
    if not isinstance(model_id, str) or not model_id:
        raise ValueError("model_id must be a non-empty string")
    params, options = _only_options(kwargs, frozenset({"betas"}))
    path = f"{MODELS_PATH}/{quote(model_id, safe='')}"
    spec = config.build_request("GET", path, options=options, betas=params.get("betas"))
    return Call(spec, model_parser(ModelInfo), "models.retrieve")


def models_list_call(
    config: ClientConfig[Any, Any], kwargs: Mapping[str, Any]
) -> PageCall[ModelPage, ModelInfo]:
    """``GET /v1/models``: the first page asked for, and how to get the next ones."""
    params, options = _only_options(kwargs, frozenset({"limit", "after_id", "before_id", "betas"}))
    betas = params.pop("betas", None)
    query = {key: str(value) for key, value in params.items() if value is not None}
    spec = config.build_request("GET", MODELS_PATH, query=query, options=options, betas=betas)

    def next_page(page: ModelPage) -> PageCall[ModelPage, ModelInfo] | None:
        if not page.has_more:
            return None
        # Paging backwards (before_id) goes on before this page's first item;
        # forwards, after its last.
        backwards = "before_id" in params
        cursor = page.first_id if backwards else page.last_id
        if cursor is None:
            return None
        following = {k: v for k, v in kwargs.items() if k not in ("after_id", "before_id")}
        following["before_id" if backwards else "after_id"] = cursor
        return models_list_call(config, following)

    return PageCall(
        Call(spec, model_parser(ModelPage), "models.list"), lambda page: page.data, next_page
    )


@dataclass(frozen=True)
class MessageCreate:
    """A ``messages.create()`` request as both clients send it.

    Attributes:
        spec: The request (``stream`` decides the ``Accept`` and body flag).
        params: The API parameters alone (for the telemetry).
        parser: The parser of the reply when ``output_format`` was given.
    """

    spec: RequestSpec
    params: dict[str, Any]
    parser: OutputParser[Any] | None

    def call(self) -> Call[Message]:
        """The non-streaming call: the whole message."""
        return Call(self.spec, model_parser(Message), "chat")

    def reply(self, message: Message) -> Message:
        """The value ``create()`` returns: a :class:`ParsedMessage` with ``output_format``."""
        return message if self.parser is None else self.parser.parse_message(message)


def message_create(
    config: ClientConfig[Any, Any], kwargs: dict[str, Any], *, stream: bool, output_format: Any
) -> MessageCreate:
    """``POST /v1/messages`` for ``create()``'s keyword arguments."""
    if output_format is not None:
        kwargs["output_format"] = output_format
    spec = config.build_spec(kwargs, stream=stream)
    params, _ = split_options(kwargs)
    params.pop(BETA_MARK, None)
    return MessageCreate(spec, params, output_parser(kwargs))


def parsed_reply(message: Message, output_format: Any) -> ParsedMessage[Any]:
    """The value ``parse()`` returns for what ``create(output_format=...)`` returned."""
    return as_parsed_message(message, output_parser({"output_format": output_format}))
