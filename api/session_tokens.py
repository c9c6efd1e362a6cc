"""The app's own session: an HS256 JWT, sent as an httpOnly cookie or a Bearer header.

It is issued after an OIDC login and carries who logged in and the roles their groups gave
them; roles change at the next login. A logout records the session id (`sid`) as revoked.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey

ALGORITHM = "HS256"
ISSUER = "makerbus"
SESSION_COOKIE = "makerbus_session"
LOGIN_STATE_COOKIE = "makerbus_login"


def cookie_name(base: str, *, secure: bool) -> str:
    """Outside dev the cookies are `__Host-` cookies: the browser keeps them only when set by
    this very host, Secure and for Path=/, so a sibling subdomain cannot plant its own."""
    return f"__Host-{base}" if secure else base


class Role(StrEnum):
    ADMIN = "admin"
    PRODUCT_MANAGER = "product_manager"
    TECHNICIAN = "technician"


class InvalidSession(Exception):
    """The token is malformed, tampered with, expired, or signed another way."""


@dataclass(frozen=True)
class WebSession:
    subject: str
    name: str
    roles: frozenset[Role]
    session_id: str
    expires_at: datetime


def derive_key(secret: str, purpose: str) -> bytes:
    """A 256-bit key per purpose, so one setting can sign sessions and login state apart."""
    return hmac.new(secret.encode(), f"makerbus:{purpose}".encode(), hashlib.sha256).digest()


class SessionSigner:
    def __init__(self, secret: str, lifetime: timedelta) -> None:
        self._key = OctKey.import_key(derive_key(secret, "session"))
        self.lifetime = lifetime

    def issue(self, *, subject: str, name: str, roles: frozenset[Role], now: datetime) -> str:
        expires_at = now + self.lifetime
        claims = {
            "iss": ISSUER,
            "sub": subject,
            "name": name,
            "roles": sorted(roles),
            "sid": secrets.token_urlsafe(16),
            "iat": int(now.timestamp()),
            "exp": int(expires_at.timestamp()),
        }
        return jwt.encode({"alg": ALGORITHM}, claims, self._key, algorithms=[ALGORITHM])

    def verify(self, token: str, *, now: datetime) -> WebSession:
        """The session in a token, or InvalidSession; only HS256 with our key is accepted."""
        try:
            decoded = jwt.decode(token, self._key, algorithms=[ALGORITHM])
            registry = jwt.JWTClaimsRegistry(
                now=int(now.timestamp()),
                leeway=0,
                iss={"essential": True, "value": ISSUER},
                sub={"essential": True},
                sid={"essential": True},
                exp={"essential": True},
            )
            registry.validate(decoded.claims)
            claims = decoded.claims
            return WebSession(
                subject=str(claims["sub"]),
                name=str(claims.get("name", "")),
                roles=frozenset(Role(role) for role in claims.get("roles", [])),
                session_id=str(claims["sid"]),
                expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
            )
        except (JoseError, ValueError, TypeError, KeyError) as error:
            raise InvalidSession(str(error) or type(error).__name__) from None
