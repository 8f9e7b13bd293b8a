"""Headers on every response, read-only methods, and the access token (pure ASGI middleware).

Article text is hostile input: besides escaping everything, every response forbids inline
script and style, other origins, framing and plugins (Content-Security-Policy), so a story
whose text slipped past escaping still could not run anything.
"""

from __future__ import annotations

import hmac
from http.cookies import SimpleCookie
from urllib.parse import parse_qs

from starlette.datastructures import MutableHeaders
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
}
TOKEN_COOKIE = "armswatch_token"  # noqa: S105 (the cookie's name, not a secret)
_READ_ONLY = frozenset({"GET", "HEAD"})
# The health check says only whether Redis answers: no token, so a container check needs none.
_OPEN = frozenset({"/healthz"})


def _presented(scope: Scope) -> tuple[str | None, bool]:
    """The token a request carries (bearer header, cookie or `?token=`), and whether it came
    in the query (then the response sets the cookie, so the page's own requests carry it)."""
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip(), False
    cookie = SimpleCookie(headers.get("cookie", ""))
    if TOKEN_COOKIE in cookie:
        return cookie[TOKEN_COOKIE].value, False
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    if query.get("token"):
        return query["token"][0], True
    return None, False


def _matches(presented: str | None, token: str) -> bool:
    return presented is not None and hmac.compare_digest(
        presented.encode("utf-8"), token.encode("utf-8")
    )


class Guard:
    """Security headers on every response; only GET and HEAD; the token when one is set."""

    def __init__(self, app: ASGIApp, *, token: str | None) -> None:
        self.app = app
        self.token = token

    def _refusal(self, scope: Scope) -> PlainTextResponse | None:
        """A 405 for anything but reading, a 401 without the right token; else None."""
        if scope["method"] not in _READ_ONLY:
            status, text, extra = 405, "read-only: only GET and HEAD", {"allow": "GET, HEAD"}
        elif (
            self.token is not None
            and scope["path"] not in _OPEN
            and not _matches(_presented(scope)[0], self.token)
        ):
            status, text, extra = 401, "an access token is required", {"www-authenticate": "Bearer"}
        else:
            return None
        return PlainTextResponse(text + "\n", status_code=status, headers={**extra, **HEADERS})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = self._refusal(scope)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        set_cookie = self.token is not None and _presented(scope)[1]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    headers[name] = value
                if set_cookie and self.token is not None:
                    headers.append(
                        "set-cookie",
                        f"{TOKEN_COOKIE}={self.token}; Path=/; HttpOnly; SameSite=Strict",
                    )
            await send(message)

        await self.app(scope, receive, send_with_headers)
