"""Cloud platforms (Amazon Bedrock, Google Vertex AI, Microsoft Foundry), sans-IO.

A platform client is the first-party client with a :class:`~.base.Platform` plugged in
at the last step before the send: the platform rewrites the request its way, the
driver resolves its credential (off the event loop when that may block) and the
platform signs the request. Modules: ``base`` (the seam and what every platform
shares), ``bedrock``, ``vertex``, ``foundry`` (one platform each), ``eventstream``
(Bedrock's binary stream framing) and ``client`` (the client configuration both
drivers build on).
"""
