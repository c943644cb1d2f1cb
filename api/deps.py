"""Typed dependencies: database session, who is calling, and ownership checks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session

from api.db import get_sessionmaker
from api.models import MerchantUser
from api.security import constant_time_equals, unsign
from api.settings import get_settings


def get_session() -> Iterator[Session]:
    session = get_sessionmaker()()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# scope="function": the commit runs before the response is sent. FastAPI's default ("request")
# ends a yield dependency after the response, so a client could be told "created" before the
# commit (and never learn it failed), and a request right after the answer might not see the row.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def is_service(request: Request) -> bool:
    token = _bearer(request)
    expected = get_settings().service_token.get_secret_value()
    return bool(token and expected and constant_time_equals(token, expected))


def require_service(request: Request) -> str:
    if _bearer(request) is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "Authentication required.", headers={"WWW-Authenticate": "Bearer"}
        )
    if not is_service(request):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "This endpoint is for the action server only.")
    return "service"


ServiceDep = Annotated[str, Depends(require_service)]


def merchant_user_from_token(session: Session, token: str | None) -> MerchantUser | None:
    if not token:
        return None
    payload = unsign(token, "access")
    if payload is None:
        return None
    user = session.get(MerchantUser, int(payload.get("sub", 0)))
    return user


def current_merchant_user(
    session: SessionDep, token: Annotated[str | None, Depends(oauth2_scheme)]
) -> MerchantUser:
    user = merchant_user_from_token(session, token)
    if user is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "Sign in as a merchant user.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return user


CurrentUser = Annotated[MerchantUser, Depends(current_merchant_user)]


def client_key(request: Request) -> str:
    """Who to throttle. Every chat shopper reaches the API through the one action server, so its
    calls (service token) are counted per conversation (X-Conversation-Id), not per address;
    anyone else by client address (behind a proxy in production, the first X-Forwarded-For hop)."""
    if is_service(request):
        conversation = request.headers.get("x-conversation-id", "").strip()
        return f"conversation:{conversation[:128]}" if conversation else "service"
    forwarded = request.headers.get("x-forwarded-for", "")
    if forwarded and get_settings().environment == "production":
        return forwarded.split(",")[0].strip()
    return request.client.host if request.client else "unknown"
