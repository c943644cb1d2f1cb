"""Dashboard sign-in: server-side sessions, CSRF tokens, roles, and the typed dependencies.

- The session cookie holds a random token; the database keeps only its SHA-256 (`DashboardSession`),
  so signing out (or an admin) can revoke it. Cookie: HttpOnly, SameSite=Lax, Path=/merchant,
  Secure whenever the dashboard is reached over HTTPS (public_base_url or X-Forwarded-Proto).
- Every POST carries a CSRF token: the session's own token once signed in; before that (the sign-in
  form) a double-submit token from a short-lived cookie. A missing or wrong token is a 403.
- Every page and action depends on `DashUser` / `AdminUser`; nobody is let in without one.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Depends, Request, Response
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from api.deps import SessionDep, client_key
from api.models import DashboardSession, Merchant, MerchantUser
from api.security import constant_time_equals, sign, unsign
from api.settings import get_settings

SESSION_COOKIE = "merchant_session"
LOGIN_CSRF_COOKIE = "merchant_login_csrf"
COOKIE_PATH = "/merchant"
IDLE_TIMEOUT = timedelta(hours=2)
TOUCH_EVERY = timedelta(minutes=5)
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


class NotSignedIn(Exception):
    """No valid session: pages redirect to the sign-in form, scripts get a 401."""


class DashboardError(Exception):
    """An error page with a status code (403 forbidden, 404 not found, 409 conflict...)."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message


def _now() -> datetime:
    return datetime.now(UTC)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def is_https(request: Request) -> bool:
    """Behind TLS: the public URL says so, or the proxy in front says so."""
    if get_settings().public_base_url.lower().startswith("https://"):
        return True
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return forwarded == "https" or request.url.scheme == "https"


def _set_cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=COOKIE_PATH,
        httponly=True,
        samesite="lax",
        secure=is_https(request),
    )


# --- sessions ---------------------------------------------------------------------------------


def session_lifetime() -> timedelta:
    return timedelta(minutes=get_settings().access_token_minutes)


def start_session(db: Session, request: Request, response: Response, user: MerchantUser) -> DashboardSession:
    """Sign the user in: a new session row and its cookie (any earlier cookie is replaced)."""
    token = secrets.token_urlsafe(32)
    now = _now()
    row = DashboardSession(
        id=_digest(token),
        user_id=user.id,
        merchant_id=user.merchant_id,
        csrf_token=secrets.token_urlsafe(32),
        ip=client_key(request)[:64],
        user_agent=request.headers.get("user-agent", "")[:255],
        last_seen_at=now,
        expires_at=now + session_lifetime(),
    )
    db.add(row)
    # Housekeeping: expired sessions go.
    db.execute(delete(DashboardSession).where(DashboardSession.expires_at < now))
    _set_cookie(request, response, SESSION_COOKIE, token, int(session_lifetime().total_seconds()))
    response.delete_cookie(LOGIN_CSRF_COOKIE, path=COOKIE_PATH)
    return row


def end_session(db: Session, request: Request, response: Response) -> DashboardSession | None:
    row = load_session(db, request)
    if row is not None:
        db.delete(row)
    response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH)
    return row


def load_session(db: Session, request: Request) -> DashboardSession | None:
    """The live session of this request's cookie, or None (expired and idle ones are removed)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token or len(token) > 128:
        return None
    row = db.get(DashboardSession, _digest(token))
    if row is None:
        return None
    now = _now()
    if row.expires_at <= now or row.last_seen_at + IDLE_TIMEOUT <= now:
        db.delete(row)
        db.commit()
        return None
    if now - row.last_seen_at > TOUCH_EVERY:
        row.last_seen_at = now
    return row


def revoke_sessions(db: Session, user_id: int) -> None:
    db.execute(delete(DashboardSession).where(DashboardSession.user_id == user_id))


# --- CSRF -------------------------------------------------------------------------------------


def login_csrf_value(request: Request) -> str:
    """The double-submit token of the sign-in form (the cookie's, or a new one)."""
    token = request.cookies.get(LOGIN_CSRF_COOKIE)
    if not token or len(token) > 128:
        token = secrets.token_urlsafe(32)
    return token


def set_login_csrf(request: Request, response: Response, token: str) -> None:
    _set_cookie(request, response, LOGIN_CSRF_COOKIE, token, 3600)


# --- one-shot messages after a redirect ("Approved RMA-..."), signed so only we can write them --


FLASH_COOKIE = "merchant_flash"


def set_flash(request: Request, response: Response, kind: str, text: str) -> None:
    value = sign({"k": kind, "t": text[:500]}, 120, "flash")
    _set_cookie(request, response, FLASH_COOKIE, value, 120)


def read_flash(request: Request) -> dict[str, str] | None:
    raw = request.cookies.get(FLASH_COOKIE)
    data = unsign(raw, "flash") if raw else None
    if not data:
        return None
    return {"kind": str(data.get("k", "info")), "text": str(data.get("t", ""))}


def clear_flash(request: Request, response: Response) -> None:
    if request.cookies.get(FLASH_COOKIE):
        response.delete_cookie(FLASH_COOKIE, path=COOKIE_PATH)


async def _submitted_token(request: Request) -> str:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()  # cached by Starlette; the route's Form() fields still work
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else ""
    return ""


async def check_login_csrf(request: Request) -> None:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    submitted = await _submitted_token(request)
    if not expected or not submitted or not constant_time_equals(expected, submitted):
        raise DashboardError(403, "This form has expired. Reload the page and try again.")


# --- dependencies -----------------------------------------------------------------------------


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "") or bool(request.headers.get(CSRF_HEADER))


def require_user(request: Request, db: SessionDep) -> MerchantUser:
    """The signed-in merchant user; also leaves the session and user on request.state."""
    row = load_session(db, request)
    user = db.get(MerchantUser, row.user_id) if row is not None else None
    if row is None or user is None or user.merchant_id != row.merchant_id:
        raise NotSignedIn(_wants_json(request))
    request.state.dash_session = row
    request.state.dash_user = user
    request.state.dash_merchant = db.get(Merchant, user.merchant_id)
    return user


DashUser = Annotated[MerchantUser, Depends(require_user)]


async def require_csrf(request: Request, user: DashUser) -> MerchantUser:
    """A signed-in user posting a form that carries this session's CSRF token."""
    row: DashboardSession = request.state.dash_session
    submitted = await _submitted_token(request)
    if not submitted or not constant_time_equals(row.csrf_token, submitted):
        raise DashboardError(
            403, "This form has expired or did not come from the dashboard. Reload the page and try again."
        )
    return user


def require_admin(user: DashUser) -> MerchantUser:
    if user.role != "admin":
        raise DashboardError(403, "Only an admin of this shop can do that.")
    return user


async def require_admin_csrf(
    request: Request, user: Annotated[MerchantUser, Depends(require_csrf)]
) -> MerchantUser:
    return require_admin(user)


FormUser = Annotated[MerchantUser, Depends(require_csrf)]
AdminUser = Annotated[MerchantUser, Depends(require_admin)]
AdminFormUser = Annotated[MerchantUser, Depends(require_admin_csrf)]


def users_of(db: Session, merchant_id: int) -> list[MerchantUser]:
    return list(
        db.scalars(
            select(MerchantUser).where(MerchantUser.merchant_id == merchant_id).order_by(MerchantUser.id)
        )
    )
