"""Where notices go beyond the inbox: an adapter is handed each notice at least once and
raises when it could not pass it on (the worker then retries with backoff).

The log adapter is the embedded default; the webhook adapter posts each notice to one
configured URL (an SMS gateway, a messaging bridge), signed with the shared secret.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from typing import Protocol

import httpx
import msgspec

log = logging.getLogger("ruralx.notices")

SIGNATURE_HEADER = "X-Ruralx-Signature"
NOTICE_HEADER = "X-Ruralx-Notice"
#: Largest webhook request body (a notice is at most 64 + 1000 characters of text).
MAX_REQUEST_BYTES = 16 * 1024
#: How much of a refusing answer is read and kept as the notice's last error.
MAX_ERROR_BYTES = 400


class Outgoing(msgspec.Struct, kw_only=True):
    """A notice as handed to an adapter. `id` is stable across retries: a receiver that
    sees the same id twice has seen the same notice (delivery is at least once)."""

    id: int
    user_id: int
    #: The person's own phone, for an SMS gateway; none for accounts without one.
    phone: str | None
    kind: str
    title: str
    body: str
    link: str | None
    created_at: str
    attempt: int


class Adapter(Protocol):
    async def deliver(self, notice: Outgoing) -> None:
        """Pass the notice on, or raise."""


class LogAdapter:
    """Writes each notice to the log: the inbox is the only channel a person reads."""

    async def deliver(self, notice: Outgoing) -> None:
        log.info(
            "notice %d (%s) to user %d: %s", notice.id, notice.kind, notice.user_id, notice.title
        )


class DeliveryFailed(Exception):
    pass


def sign(secret: str, body: bytes) -> str:
    """The signature header's value: HMAC-SHA256 of the exact body, hex."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookAdapter:
    """POSTs each notice as JSON to `url`; any 2xx answer is delivery."""

    def __init__(
        self, url: str, secret: str, *, timeout_ms: int, client: httpx.AsyncClient | None = None
    ) -> None:
        if not url.startswith(("https://", "http://")):
            raise ValueError("the notice webhook URL must be http(s)")
        if not secret:
            raise ValueError("the notice webhook needs a secret to sign with")
        self.url, self.secret = url, secret
        self.client = client or httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_ms / 1000), follow_redirects=False
        )

    async def deliver(self, notice: Outgoing) -> None:
        body = msgspec.json.encode(notice)
        if len(body) > MAX_REQUEST_BYTES:
            raise DeliveryFailed(f"notice body of {len(body)} bytes over the limit")
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(self.secret, body),
            NOTICE_HEADER: str(notice.id),
        }
        async with self.client.stream("POST", self.url, content=body, headers=headers) as answer:
            if 200 <= answer.status_code < 300:
                return
            head = b""
            async for chunk in answer.aiter_bytes():
                head += chunk
                if len(head) >= MAX_ERROR_BYTES:
                    break
        text = head[:MAX_ERROR_BYTES].decode("utf-8", "replace")
        raise DeliveryFailed(f"HTTP {answer.status_code}: {text}")

    async def close(self) -> None:
        await self.client.aclose()
