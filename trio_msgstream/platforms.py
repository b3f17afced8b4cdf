"""Claude on the cloud platforms: Amazon Bedrock, Google Vertex AI, Microsoft Foundry.

Each client is the first-party client (streams, handlers, ``open_message_stream``,
fan-out, the tool runner, parse, retries, timeouts, cancellation, typed errors) over
the platform's own URLs, bodies, authentication and stream framing, with the official
SDK's names, constructor arguments and environment variables. The names also import
from the top level (``from trio_msgstream import AsyncAnthropicBedrock``).

==============  ==========================  ===================  =====================
platform        async / sync                auth                 extra
==============  ==========================  ===================  =====================
Bedrock         ``AsyncAnthropicBedrock`` /  SigV4 or API key     ``[bedrock]`` (SigV4)
                ``AnthropicBedrock``
Vertex AI       ``AsyncAnthropicVertex`` /   OAuth access token   ``[vertex]`` (ADC)
                ``AnthropicVertex``
Foundry         ``AsyncAnthropicFoundry`` /  API key or Entra ID  none
                ``AnthropicFoundry``
==============  ==========================  ===================  =====================

What a platform does not offer raises
:class:`~trio_msgstream.errors.UnsupportedEndpointError` before anything is sent. See
``docs/platforms.md``.
"""

from . import _claim_public
from ._core.platforms.bedrock import AwsCredentialChain as AwsCredentialChain
from ._core.platforms.eventstream import EventStreamDecoder as EventStreamDecoder
from ._core.platforms.foundry import TokenProvider as TokenProvider
from ._core.platforms.vertex import GoogleCredentialSource as GoogleCredentialSource
from ._httpx.platform_clients import AsyncAnthropicBedrock as AsyncAnthropicBedrock
from ._httpx.platform_clients import AsyncAnthropicFoundry as AsyncAnthropicFoundry
from ._httpx.platform_clients import AsyncAnthropicVertex as AsyncAnthropicVertex
from ._sync.platform_clients import AnthropicBedrock as AnthropicBedrock
from ._sync.platform_clients import AnthropicFoundry as AnthropicFoundry
from ._sync.platform_clients import AnthropicVertex as AnthropicVertex

__all__ = [
    "AnthropicBedrock",
    "AnthropicFoundry",
    "AnthropicVertex",
    "AsyncAnthropicBedrock",
    "AsyncAnthropicFoundry",
    "AsyncAnthropicVertex",
    "AwsCredentialChain",
    "EventStreamDecoder",
    "GoogleCredentialSource",
    "TokenProvider",
]

_claim_public(__name__, globals())
del _claim_public
