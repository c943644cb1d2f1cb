from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException
from fastapi.security import OAuth2PasswordRequestForm
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import SessionDep
from api.models import MerchantUser
from api.security import hash_password, sign, verify_password
from api.services import audit
from api.settings import get_settings

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])

MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
BAD_LOGIN = "Incorrect email or password."


_DUMMY_HASH: str | None = None


def _burn_time(password: str) -> None:
    """Verify against a throwaway hash so an unknown email costs as long as a known one."""
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hash_password("not-a-real-password")
    verify_password(_DUMMY_HASH, password)


def authenticate(session: Session, email: str, password: str) -> MerchantUser:
    """The user, or an HTTPException: 401 for bad credentials, 429 while locked out."""
    user = session.scalar(select(MerchantUser).where(MerchantUser.email == email.strip().lower()))
    now = datetime.now(UTC)
    if user is not None and user.locked_until and user.locked_until > now:
        wait = int((user.locked_until - now).total_seconds()) + 1
        raise HTTPException(
            429, "Too many failed sign-ins. Try again later.", headers={"Retry-After": str(wait)}
        )
    if user is None:
        _burn_time(password)
    if user is None or not verify_password(user.password_hash, password):
        if user is not None:
            user.failed_logins += 1
            if user.failed_logins >= MAX_FAILURES:
                user.locked_until = now + LOCKOUT
                user.failed_logins = 0
                audit.record(
                    session,
                    merchant_id=user.merchant_id,
                    entity_type="user",
                    entity_id=user.id,
                    action="locked_out",
                    actor="system",
                )
            session.commit()
        raise HTTPException(401, BAD_LOGIN, headers={"WWW-Authenticate": "Bearer"})
    user.failed_logins = 0
    user.locked_until = None
    return user


def access_token(user: MerchantUser) -> str:
    minutes = get_settings().access_token_minutes
    return sign({"sub": user.id, "mid": user.merchant_id, "role": user.role}, minutes * 60, "access")


@router.post("/token", summary="OAuth2 password flow for merchant users")
def token(form: Annotated[OAuth2PasswordRequestForm, Depends()], session: SessionDep) -> dict[str, str]:
    user = authenticate(session, form.username, form.password)
    return {"access_token": access_token(user), "token_type": "bearer"}
