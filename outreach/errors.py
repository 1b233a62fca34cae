"""One exception tree for every outgoing channel (SMTP server, SMS gateways, JSON webhook).

```
OutreachError
└── ChannelError                 a channel did not take the message
    ├── RetriableError           nothing was accepted (refused connection, HTTP 429/5xx, the provider's
    │                            "temporarily unavailable"): the one kind the retry policy repeats
    ├── OutcomeUnknown           the request may have been accepted (read timeout, connection lost after
    │                            sending): resent only after the provider, asked by our own message id,
    │                            says it has no such message; never resent where it cannot be asked
    ├── MessageRejected          fatal for this message only (bad number, stop list, refused recipient)
    └── GatewayUnusable          fatal for the whole channel (credentials, balance, sender name not
                                 approved, blocked IP): later messages go to the next channel
```
``OutreachConfigError`` (a ValueError) is apart from the tree: the ``outreach:`` section of app.yaml
is invalid, and its message says "outreach.<key>: что ожидается".

Every message carries a Russian ``reason`` for the provider manager; none carries a full phone number.
"""
from __future__ import annotations


class OutreachError(Exception):
    """Base of every outreach failure."""


class ChannelError(OutreachError):
    """A channel did not take the message; ``reason`` is Russian and free of personal data."""

    def __init__(self, reason: str, *, code: str | int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


class RetriableError(ChannelError):
    """Nothing was accepted; repeating the same request is safe."""


class OutcomeUnknown(ChannelError):
    """The request may have been accepted; ask the provider by our id before any repeat."""


class MessageRejected(ChannelError):
    """The channel refused this message; other messages may still go through it."""


class GatewayUnusable(ChannelError):
    """The channel refuses everything until an operator acts (credentials, balance, sender name)."""


class OutreachConfigError(ValueError):
    """The ``outreach:`` section is invalid: "outreach.<key>: что ожидается"."""
