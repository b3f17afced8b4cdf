"""Structured outputs, the reply side: the parsed message, final and partial parsing.

Part of the sans-IO core (no trio, no httpx); both clients drive it. The request side
(``output_format=T`` as ``output_config``) is :mod:`.output_schema`.

Theory of operation:

- **Final parse.** :meth:`OutputParser.parse_message` turns a finished
  :class:`Message` into a :class:`ParsedMessage` whose ``parsed_output`` is the text
  of its text blocks validated as ``T``. Only a turn that ended on its own is parsed
  (``end_turn``, ``stop_sequence``); a ``tool_use`` or ``pause_turn`` turn carries no
  output (``parsed_output is None``); a ``refusal`` raises :class:`OutputRefusedError`
  and a ``max_tokens`` stop :class:`OutputTruncatedError`, never a validation error;
  text that does not validate raises :class:`OutputValidationError` with the raw
  text and pydantic's errors.
- **Partial output.** :class:`OutputTracker` sees the stream's events: each text
  delta goes into an incremental JSON parser (:mod:`.partial_json`), fed lazily, so
  the stream costs time linear in its length whatever is read. A ``parsed_output``
  event follows each text delta; its ``snapshot`` (like the stream's
  ``partial_output``) validates the value parsed so far *leniently*: fields not yet
  received are ``None`` (or their default), a field whose value is still arriving and
  does not validate yet is ``None``, list items that do not validate yet are left
  out. The result is an instance of ``T`` built with ``model_construct``, so it is
  typed as the model. Reading a snapshot costs time in the size of the object so far.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Generic, Literal, TypeVar

import pydantic
from pydantic import BaseModel, ConfigDict, Field
from pydantic_core import ErrorDetails

from ..exceptions import MsgStreamError
from ..schema.models import Message, TextBlock
from .output_schema import adapter_for, output_format_param, schema_params, transform_schema
from .partial_json import PartialJSONParser

__all__ = [
    "OutputParser",
    "OutputRefusedError",
    "OutputTracker",
    "OutputTruncatedError",
    "OutputValidationError",
    "ParsedMessage",
    "ParsedOutputEvent",
    "StructuredOutputError",
    "as_parsed_message",
    "output_format_param",
    "output_parser",
    "prepare_output_format",
    "transform_schema",
]

T = TypeVar("T")

_NO_OUTPUT_STOPS = frozenset({"tool_use", "pause_turn"})
_TRUNCATED_STOPS = frozenset({"max_tokens", "model_context_window_exceeded"})


# --------------------------------------------------------------------------- errors


class StructuredOutputError(MsgStreamError):
    """The reply carries no valid structured output.

    Attributes:
        final_message: The finished message (what ``get_final_message`` would return).
        raw_text: The text of its text blocks.
    """

    def __init__(self, description: str, *, final_message: Message, raw_text: str) -> None:
        super().__init__(description)
        self.final_message = final_message
        self.raw_text = raw_text


class OutputValidationError(StructuredOutputError):
    """The reply's text is not JSON matching the output format.

    Attributes:
        errors: pydantic's errors (``ValidationError.errors()``, without the input).
        validation_error: The ``pydantic.ValidationError`` itself.
    """

    def __init__(
        self,
        description: str,
        *,
        final_message: Message,
        raw_text: str,
        validation_error: pydantic.ValidationError,
    ) -> None:
        super().__init__(description, final_message=final_message, raw_text=raw_text)
        self.validation_error = validation_error
        self.errors: list[ErrorDetails] = validation_error.errors(
            include_url=False, include_input=False
        )


class OutputRefusedError(StructuredOutputError):
    """The model declined to answer (``stop_reason == "refusal"``)."""


class OutputTruncatedError(StructuredOutputError):
    """The reply stopped before its output was complete (``max_tokens``).

    Attributes:
        stop_reason: ``"max_tokens"`` or ``"model_context_window_exceeded"``.
    """

    def __init__(
        self, description: str, *, final_message: Message, raw_text: str, stop_reason: str
    ) -> None:
        super().__init__(description, final_message=final_message, raw_text=raw_text)
        self.stop_reason = stop_reason


# --------------------------------------------------------------------------- request form


def prepare_output_format(
    params: Mapping[str, Any],
) -> tuple[dict[str, Any], OutputParser[Any] | None]:
    """Take ``output_format`` out of request parameters, putting its schema into
    ``output_config``; return the parameters and the parser for the reply (``None``
    without ``output_format``)."""
    return schema_params(params), output_parser(params)


def output_parser(params: Mapping[str, Any]) -> OutputParser[Any] | None:
    """The parser for the reply to a request with these parameters (``None``
    without ``output_format``)."""
    output_format = params.get("output_format")
    if output_format is None:
        return None
    try:
        return _PARSERS[output_format]
    except (KeyError, TypeError):
        pass
    parser: OutputParser[Any] = OutputParser(output_format)
    try:
        if len(_PARSERS) < 512:
            _PARSERS[output_format] = parser
    except TypeError:  # unhashable type expression
        pass
    return parser


_PARSERS: dict[Any, OutputParser[Any]] = {}


# --------------------------------------------------------------------------- parsed message


class ParsedMessage(Message, Generic[T]):
    """A :class:`Message` with the reply's structured output.

    ``parsed_output`` is the text of the text blocks validated as the output format,
    or ``None`` for a turn that carries no output (it stopped for ``tool_use``). It is
    left out of ``model_dump()``, so the message goes back into a conversation as is.
    """

    model_config: ClassVar[ConfigDict] = ConfigDict(extra="allow", arbitrary_types_allowed=True)

    parsed_output: T | None = Field(default=None, exclude=True)


# --------------------------------------------------------------------------- parsing


class OutputParser(Generic[T]):
    """Validates replies as ``output_format``: final messages and partial JSON."""

    def __init__(self, output_format: type[T] | Any) -> None:
        self.output_format = output_format
        self._adapter = adapter_for(output_format)
        self._lenient = _Lenient().validator(output_format)

    def parse_text(self, text: str) -> T:
        """Validate ``text`` as the output format (raises ``pydantic.ValidationError``)."""
        value: T = self._adapter.validate_json(text)
        return value

    def parse_message(self, message: Message) -> ParsedMessage[T]:
        """The parsed form of a finished message (see the module docstring for the
        stop-reason rules).

        Raises:
            OutputRefusedError: ``stop_reason`` is ``refusal``.
            OutputTruncatedError: ``stop_reason`` is ``max_tokens``.
            OutputValidationError: The text does not validate.
        """
        if isinstance(message, ParsedMessage) and message.parsed_output is not None:
            return message
        text = "".join(block.text for block in message.content if isinstance(block, TextBlock))
        stop = message.stop_reason
        parsed: T | None = None
        if stop == "refusal":
            raise OutputRefusedError(
                "the model refused to answer (stop_reason 'refusal')",
                final_message=message,
                raw_text=text,
            )
        if stop in _TRUNCATED_STOPS:
            raise OutputTruncatedError(
                f"the output was cut off (stop_reason {stop!r}) after {len(text)} characters",
                final_message=message,
                raw_text=text,
                stop_reason=stop,
            )
        if stop not in _NO_OUTPUT_STOPS:
            try:
                parsed = self.parse_text(text)
            except pydantic.ValidationError as exc:
                raise OutputValidationError(
                    f"the reply is not a valid {_type_name(self.output_format)}: "
                    f"{exc.error_count()} validation error(s), first: {_first_error(exc)}",
                    final_message=message,
                    raw_text=text,
                    validation_error=exc,
                ) from None
        fields = {name: getattr(message, name) for name in type(message).model_fields}
        fields.update(message.model_extra or {})
        fields["parsed_output"] = parsed
        result: ParsedMessage[T] = ParsedMessage.model_construct(**fields)
        result._request_id = message._request_id
        return result

    def partial(self, value: Any) -> T | None:
        """Validate a partial JSON value leniently; ``None`` when nothing fits yet."""
        if value is None:
            return None
        result = self._lenient(value)
        return None if result is _FAIL else result


def as_parsed_message(message: Message, parser: OutputParser[Any] | None) -> ParsedMessage[Any]:
    """``message`` parsed with ``parser``, or as a :class:`ParsedMessage` without
    output when there is no parser."""
    if parser is not None:
        return parser.parse_message(message)
    if isinstance(message, ParsedMessage):
        return message
    fields = {name: getattr(message, name) for name in type(message).model_fields}
    fields.update(message.model_extra or {})
    parsed: ParsedMessage[Any] = ParsedMessage.model_construct(**fields)
    parsed._request_id = message._request_id
    return parsed


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or repr(tp)


def _first_error(exc: pydantic.ValidationError) -> str:
    first = exc.errors(include_url=False, include_input=False)[0]
    where = ".".join(str(part) for part in first["loc"])
    return f"{first['msg']}" + (f" at {where}" if where else "")


_FAIL: Any = object()
_Validator = Callable[[Any], Any]


class _Lenient:
    """Builds validators that accept what a partial JSON value has so far."""

    def __init__(self) -> None:
        self._cache: dict[Any, _Validator] = {}

    def validator(self, tp: Any) -> _Validator:
        try:
            return self._cache[tp]
        except (KeyError, TypeError):
            pass
        holder: list[_Validator] = []

        def forward(value: Any) -> Any:  # for recursive models
            return holder[0](value)

        try:
            self._cache[tp] = forward
        except TypeError:
            pass
        built = self._build(tp)
        holder.append(built)
        try:
            self._cache[tp] = built
        except TypeError:
            pass
        return built

    def _build(self, tp: Any) -> _Validator:
        origin = typing.get_origin(tp)
        if inspect.isclass(tp) and issubclass(tp, BaseModel):
            return self._model(tp)
        if origin in (list, Sequence) or tp is list:
            args = typing.get_args(tp)
            item = self.validator(args[0]) if args else (lambda v: v)
            return lambda value: (
                [r for r in map(item, value) if r is not _FAIL]
                if isinstance(value, list)
                else _FAIL
            )
        if origin in (typing.Union, types.UnionType):
            arms = [arg for arg in typing.get_args(tp) if arg is not type(None)]
            validators = [self.validator(arm) for arm in arms]
            strict = adapter_for(tp)

            def union(value: Any) -> Any:
                if value is None:
                    return None
                try:
                    return strict.validate_python(value)
                except pydantic.ValidationError:
                    pass
                for validate in validators:
                    result = validate(value)
                    if result is not _FAIL:
                        return result
                return _FAIL

            return union
        adapter = adapter_for(tp)

        def plain(value: Any) -> Any:
            try:
                return adapter.validate_python(value, experimental_allow_partial=True)
            except pydantic.ValidationError:
                return _FAIL

        return plain

    def _model(self, model: type[BaseModel]) -> _Validator:
        fields: list[tuple[str, str, Any, Any]] = []
        for name, info in model.model_fields.items():
            key = info.alias or name
            default = None if info.is_required() else info.get_default(call_default_factory=True)
            fields.append((name, key, info.annotation, default))
        validators: dict[str, _Validator] = {}

        def validate(value: Any) -> Any:
            if not isinstance(value, dict):
                return _FAIL
            values: dict[str, Any] = {}
            for name, key, annotation, default in fields:
                if key in value:
                    check = validators.get(name)
                    if check is None:
                        check = validators[name] = self.validator(annotation)
                    result = check(value[key])
                    values[name] = None if result is _FAIL else result
                else:
                    values[name] = default
            return model.model_construct(**values)

        return validate


# --------------------------------------------------------------------------- streaming


class ParsedOutputEvent:
    """Derived event after each text delta of a stream with ``output_format``.

    ``snapshot`` is the output validated so far (see :class:`OutputTracker`); read it
    while handling the event, since it is computed when first read.
    """

    __slots__ = ("_n", "_tracker", "index")
    type: Literal["parsed_output"] = "parsed_output"
    index: int
    """The text block's index."""

    def __init__(self, index: int, tracker: OutputTracker[Any], n: int) -> None:
        self.index = index
        self._tracker = tracker
        self._n = n

    @property
    def snapshot(self) -> Any:
        """The output validated from the JSON received up to this event."""
        return self._tracker.snapshot_at(self._n)

    def __repr__(self) -> str:
        return f"ParsedOutputEvent(index={self.index})"


class OutputTracker(Generic[T]):
    """Follows a stream's text deltas; gives the partial output at any point.

    The text is handed to the JSON parser only when a snapshot is read, and each piece
    once, so a stream nobody reads snapshots of costs one list append per delta.
    """

    def __init__(self, parser: OutputParser[T]) -> None:
        self.parser = parser
        self._pieces: list[str] = []
        self._fed = 0
        self._json = PartialJSONParser()
        self._snapshot: T | None = None
        self._snapshot_n = 0
        self._final: tuple[Message, ParsedMessage[T] | StructuredOutputError] | None = None

    def observe(self, events: list[Any]) -> list[Any]:
        """The events with a :class:`ParsedOutputEvent` after each text delta."""
        if not any(event.type == "text" for event in events):
            return events
        out: list[Any] = []
        for event in events:
            out.append(event)
            if event.type == "text":
                self._pieces.append(event.text)
                out.append(ParsedOutputEvent(event.index, self, len(self._pieces)))
        return out

    def snapshot_at(self, n: int) -> T | None:
        """The partial output after ``n`` text pieces (or later ones, when the
        parser has already gone past ``n``)."""
        if n == self._snapshot_n:
            return self._snapshot
        if n > self._fed:
            for piece in self._pieces[self._fed : n]:
                self._json.feed(piece)
            self._fed = n
        self._snapshot = self.parser.partial(self._json.value())
        self._snapshot_n = max(n, self._fed)
        return self._snapshot

    @property
    def partial_output(self) -> T | None:
        """The output validated from all the text seen so far."""
        return self.snapshot_at(len(self._pieces))

    def parse_final(self, message: Message) -> ParsedMessage[T]:
        """:meth:`OutputParser.parse_message` of the finished message, done once
        (asking again returns the same object, or raises the same error)."""
        if self._final is None or self._final[0] is not message:
            try:
                self._final = (message, self.parser.parse_message(message))
            except StructuredOutputError as exc:
                self._final = (message, exc)
        result = self._final[1]
        if isinstance(result, StructuredOutputError):
            raise result
        return result
