"""Defences every response and request goes through, as one small ASGI middleware.

- Security headers: a strict Content-Security-Policy (no inline scripts or styles, nothing
  from other origins), no framing, no referrer, no MIME sniffing, no caching of the API.
- Request bodies are limited in size (Content-Length and the bytes actually received).
- CSRF: a request that may change state (any method but GET/HEAD/OPTIONS) must carry the
  ``X-Letsnode`` header, which a cross-site form cannot send and a cross-site script cannot
  send without a CORS preflight the node never grants; an ``Origin`` header, when present,
  must be this node's own origin, scheme included (``https://host`` is not
  ``http://host``). Behind a TLS reverse proxy on the same machine the scheme is the one
  the proxy states in ``X-Forwarded-Proto``, believed only from a loopback address. The
  session cookie is also HttpOnly and SameSite=Strict.
- ``RateLimiter``: token buckets in memory, keyed by client address or key.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from letsnode.web.problems import problem

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; manifest-src 'self'; font-src 'self'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    # The camera only for this origin's pages: scanning a payment request's QR code.
    (b"permissions-policy", b"camera=(self), microphone=(), geolocation=(), payment=()"),
]
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
CSRF_HEADER = "x-letsnode"
MAX_BODY_BYTES = 16 * 1024


class BodyTooLarge(Exception):
    pass


_API_HEADERS = [*SECURITY_HEADERS, (b"cache-control", b"no-store")]
_PAGE_HEADERS = [*SECURITY_HEADERS, (b"cache-control", b"no-cache")]
_ADDED_NAMES = frozenset(name for name, _ in _API_HEADERS)
_CSRF_NAME = CSRF_HEADER.encode()


LOOPBACK = frozenset({"127.0.0.1", "::1"})


@functools.lru_cache(maxsize=64)
def _origin_parts(origin: str) -> tuple[str, str]:
    """``(scheme, host[:port])`` of an Origin header, lower-cased as browsers send them."""
    parts = urlsplit(origin)
    return parts.scheme.lower(), parts.netloc.lower()


class SecurityMiddleware:
    def __init__(self, app: ASGIApp, max_body: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = _API_HEADERS if scope["path"].startswith("/api/") else _PAGE_HEADERS

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.get("headers", [])
                present = {k.lower() for k, _ in headers}
                if present.isdisjoint(_ADDED_NAMES):
                    message["headers"] = [*headers, *extra]
                else:
                    message["headers"] = [*headers, *[(k, v) for k, v in extra if k not in present]]
            await send(message)

        client = scope.get("client")
        trusts_proxy = client is not None and client[0] in LOOPBACK
        refusal = self.refuse(scope["method"], scope["headers"], scope["scheme"], trusts_proxy)
        if refusal is not None:
            await refusal(scope, receive, send_with_headers)
            return

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise BodyTooLarge
            return message

        try:
            await self.app(scope, limited_receive, send_with_headers)
        except BodyTooLarge:
            response = problem(413, "payload_too_large", f"bodies are limited to {self.max_body}")
            await response(scope, receive, send_with_headers)

    def refuse(
        self,
        method: str,
        headers: Iterable[tuple[bytes, bytes]],
        scheme: str = "http",
        trusts_proxy: bool = False,
    ) -> Response | None:
        """A problem response for a request that may not go further, else None. Reads only
        the headers it needs (the last of each name counts, as in a dict of them).
        ``scheme`` is the connection's; with ``trusts_proxy`` a ``X-Forwarded-Proto``
        header overrides it."""
        length = csrf = origin = host = forwarded = None
        for raw_name, value in headers:
            name = raw_name.lower()
            if name == b"content-length":
                length = value
            elif name == _CSRF_NAME:
                csrf = value
            elif name == b"origin":
                origin = value
            elif name == b"host":
                host = value
            elif name == b"x-forwarded-proto":
                forwarded = value
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            return problem(413, "payload_too_large", f"bodies are limited to {self.max_body} bytes")
        if method in SAFE_METHODS:
            return None
        if csrf != b"1":
            return problem(403, "csrf", "state-changing requests need the X-Letsnode: 1 header")
        if origin is not None:
            text = origin.decode("latin-1")
            if trusts_proxy and forwarded is not None:
                scheme = forwarded.decode("latin-1").split(",")[0].strip()
            expected = (scheme.lower(), (host or b"").decode("latin-1").lower())
            if text == "null" or _origin_parts(text) != expected:
                return problem(403, "csrf", "cross-origin requests are not accepted")
        return None


class RateLimiter:
    """Token buckets: ``rate`` tokens a second up to ``burst``, one per request."""

    def __init__(
        self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}

    def allow(self, key: str) -> bool:
        now = self.clock()
        tokens, at = self._buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - at) * self.rate)
        if tokens < 1:
            self._buckets[key] = (tokens, now)
            return False
        self._buckets[key] = (tokens - 1, now)
        if len(self._buckets) > 50_000:
            self._forget_full(now)
        return True

    def _forget_full(self, now: float) -> None:
        self._buckets = {
            k: (t, at)
            for k, (t, at) in self._buckets.items()
            if t + (now - at) * self.rate < self.burst
        }
