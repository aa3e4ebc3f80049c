"""Console sessions: a signed cookie that expires, its CSRF token, and the Origin check.

The cookie holds the staff member's id, when the session ends and a random per-session CSRF
token, signed with HMAC-SHA256 under a key every instance shares (SANDAN_CONSOLE_SECRET, else one
derived from the bot token), so any instance serves any session and nothing is kept server side.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from aiohttp import web

COOKIE = "sandan_console"


def session_key(secret: str | None, bot_token: str | None) -> bytes:
    """Return the key that signs sessions: the configured secret, else one from the bot token."""
    if secret:
        return hashlib.sha256(b"sandan-console-secret:" + secret.encode()).digest()
    if bot_token:
        return hmac.new(b"sandan-console-session", bot_token.encode(), hashlib.sha256).digest()
    return secrets.token_bytes(32)  # no token, no secret: sessions last as long as the process


@dataclass(frozen=True)
class Session:
    """Who is signed in, until when, and the token their forms carry."""

    person_id: int
    expires: datetime
    csrf: str
    via: str  # "link" (a login link in a browser) or "app" (the Telegram Mini App)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(key: bytes, session: Session) -> str:
    """Return the cookie's value for a session."""
    body = json.dumps(
        {
            "p": session.person_id,
            "e": int(session.expires.timestamp()),
            "c": session.csrf,
            "v": session.via,
        },
        separators=(",", ":"),
    ).encode()
    mac = hmac.new(key, body, hashlib.sha256).digest()
    return f"{_b64(body)}.{_b64(mac)}"


def verify(key: bytes, value: str, now: datetime) -> Session | None:
    """Return the session a cookie carries, or None when it is forged, garbled or expired."""
    body_text, _, mac_text = value.partition(".")
    try:
        body, mac = _unb64(body_text), _unb64(mac_text)
    except (ValueError, TypeError):
        return None
    if not hmac.compare_digest(mac, hmac.new(key, body, hashlib.sha256).digest()):
        return None
    try:
        data = json.loads(body)
        expires = datetime.fromtimestamp(int(data["e"]), tz=now.tzinfo)
        session = Session(int(data["p"]), expires, str(data["c"]), str(data.get("v", "link")))
    except (ValueError, KeyError, TypeError):
        return None
    return session if session.expires > now else None


def new_session(person_id: int, now: datetime, hours: float, via: str) -> Session:
    """Return a fresh session with its own CSRF token."""
    return Session(person_id, now + timedelta(hours=hours), secrets.token_urlsafe(24), via)


def set_cookie(
    response: web.StreamResponse, key: bytes, session: Session, seconds: int, secure: bool
) -> None:
    """Put the session on the response: HttpOnly, SameSite=Lax, Secure over HTTPS."""
    response.set_cookie(
        COOKIE,
        sign(key, session),
        max_age=max(1, seconds),
        path="/console",
        httponly=True,
        samesite="Lax",
        secure=secure,
    )


def clear_cookie(response: web.StreamResponse) -> None:
    """Take the session cookie off the browser."""
    response.del_cookie(COOKIE, path="/console")


def origin_of(url: str) -> str:
    """Return the origin (scheme://host[:port]) of a URL, lower case."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def same_origin(request: web.Request, base_url: str | None) -> bool:
    """Tell whether a POST comes from the console's own pages (Origin, else Referer).

    A browser sends Origin with every POST; one from another site is refused even if it
    somehow carries a valid token. Allowed: the public base URL's origin and the address the
    request was sent to.
    """
    allowed = {f"{request.scheme}://{request.host}".lower()}
    if base_url:
        allowed.add(origin_of(base_url))
    origin = request.headers.get("Origin")
    if origin is not None:
        return origin.lower() in allowed
    referer = request.headers.get("Referer")
    return referer is not None and origin_of(referer) in allowed
