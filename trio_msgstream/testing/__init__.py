"""Testing helpers: a fake Anthropic Messages API server on ``127.0.0.1``.

The server speaks real HTTP/1.1 over real sockets, so any client (``httpx``, the
official SDK, ``curl``) can talk to it. Script its responses, inject network faults, and
inspect the requests it received::

    from trio_msgstream.testing import open_fake_anthropic, text_response

    async def test_hello():
        async with open_fake_anthropic() as server:
            server.enqueue(text_response("Hello!"))
            ...  # point a client at server.base_url
            assert server.requests[0].json["stream"] is True

With nothing queued, :func:`default_responder` answers deterministically, which is also
handy for demos without an API key. For synchronous code use
:func:`fake_anthropic_in_thread`. Fake further endpoints with :func:`register_route`
(every server) or :meth:`FakeAnthropicServer.add_route` (one server);
:class:`FakeBatches` adds the Message Batches endpoints to a server that way, and
:class:`FakeModels` and :class:`FakeTokenCounter` the models and token-counting ones,
:class:`FakeFiles` the Files API.

Layout, one job per module: ``_sse`` (SSE encoding), ``_transcripts`` (the events of
a whole message), ``_responses`` and ``_shortcuts`` (scripted responses and faults),
``_model`` (the deterministic fake model), ``_routes`` (the route table),
``_fake_batches``, ``_fake_endpoints`` and ``_fake_files`` (more endpoints, as routes), ``_server``
and ``_playback`` (sockets), ``_thread``, ``_embedded`` (the embedded server unless a
key is set) and ``_demo``.
"""

from ._conversation import Conversation as Conversation
from ._conversation import ConversationTurn as ConversationTurn
from ._conversation import json_response as json_response
from ._conversation import tool_calls_response as tool_calls_response
from ._demo import demo_client as demo_client
from ._demo import open_demo_client as open_demo_client
from ._embedded import has_api_key as has_api_key
from ._embedded import use_embedded_server_unless_key as use_embedded_server_unless_key
from ._fake_batches import BatchOutcome as BatchOutcome
from ._fake_batches import FakeBatch as FakeBatch
from ._fake_batches import FakeBatches as FakeBatches
from ._fake_endpoints import FakeModels as FakeModels
from ._fake_endpoints import FakeTokenCounter as FakeTokenCounter
from ._fake_files import FakeFile as FakeFile
from ._fake_files import FakeFiles as FakeFiles
from ._model import default_responder as default_responder
from ._responses import ScriptedResponse as ScriptedResponse
from ._routes import RecordedRequest as RecordedRequest
from ._routes import RouteHandler as RouteHandler
from ._routes import register_route as register_route
from ._server import FakeAnthropicServer as FakeAnthropicServer
from ._server import Responder as Responder
from ._server import open_fake_anthropic as open_fake_anthropic
from ._server import serve_fake_anthropic as serve_fake_anthropic
from ._shortcuts import error_response as error_response
from ._shortcuts import events_response as events_response
from ._shortcuts import replay_sse_file as replay_sse_file
from ._shortcuts import text_response as text_response
from ._shortcuts import thinking_response as thinking_response
from ._shortcuts import tool_use_response as tool_use_response
from ._sse import chunked as chunked
from ._sse import split_events as split_events
from ._sse import sse_bytes as sse_bytes
from ._thread import fake_anthropic_in_thread as fake_anthropic_in_thread
from ._transcripts import DEFAULT_MODEL as DEFAULT_MODEL

__all__ = [
    "DEFAULT_MODEL",
    "BatchOutcome",
    "Conversation",
    "ConversationTurn",
    "FakeAnthropicServer",
    "FakeBatch",
    "FakeBatches",
    "FakeFile",
    "FakeFiles",
    "FakeModels",
    "FakeTokenCounter",
    "RecordedRequest",
    "Responder",
    "RouteHandler",
    "ScriptedResponse",
    "chunked",
    "default_responder",
    "demo_client",
    "error_response",
    "events_response",
    "fake_anthropic_in_thread",
    "has_api_key",
    "json_response",
    "open_demo_client",
    "open_fake_anthropic",
    "register_route",
    "replay_sse_file",
    "serve_fake_anthropic",
    "split_events",
    "sse_bytes",
    "text_response",
    "thinking_response",
    "tool_calls_response",
    "tool_use_response",
    "use_embedded_server_unless_key",
]
