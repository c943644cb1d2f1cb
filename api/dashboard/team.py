"""The shop's dashboard users: admins add reviewers (or admins), unlock locked-out users."""

from __future__ import annotations

import re
import secrets

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.dashboard.auth import revoke_sessions
from api.models import MerchantUser
from api.security import hash_password
from api.services import audit
from api.services.review import ReviewError

ROLES = ("admin", "reviewer")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def add_user(
    db: Session, admin: MerchantUser, *, email: str, name: str, role: str
) -> tuple[MerchantUser, str]:
    """A new user of the admin's shop, with a generated password (shown once to the admin)."""
    email = email.strip().lower()
    if not _EMAIL.match(email) or len(email) > 254:
        raise ReviewError(422, "Enter a valid email address.")
    if role not in ROLES:
        raise ReviewError(422, "The role is admin or reviewer.")
    if db.scalar(select(MerchantUser.id).where(func.lower(MerchantUser.email) == email)):
        raise ReviewError(409, "That email address already has a dashboard login.")
    password = secrets.token_urlsafe(12)
    user = MerchantUser(
        merchant_id=admin.merchant_id,
        email=email,
        name=name.strip()[:200],
        password_hash=hash_password(password),
        role=role,
    )
    db.add(user)
    db.flush()
    audit.record(
        db,
        merchant_id=admin.merchant_id,
        entity_type="user",
        entity_id=user.id,
        action="created",
        actor=f"user:{admin.id}",
        data={"email": email, "role": role},
    )
    return user, password


def _member(db: Session, admin: MerchantUser, user_id: int) -> MerchantUser:
    user = db.scalar(
        select(MerchantUser).where(MerchantUser.id == user_id, MerchantUser.merchant_id == admin.merchant_id)
    )
    if user is None:
        raise ReviewError(404, "No such user.")
    return user


def unlock(db: Session, admin: MerchantUser, user_id: int) -> MerchantUser:
    user = _member(db, admin, user_id)
    user.locked_until = None
    user.failed_logins = 0
    audit.record(
        db,
        merchant_id=admin.merchant_id,
        entity_type="user",
        entity_id=user.id,
        action="unlocked",
        actor=f"user:{admin.id}",
    )
    return user


def reset_password(db: Session, admin: MerchantUser, user_id: int) -> tuple[MerchantUser, str]:
    """A new generated password; the user's open sessions end."""
    user = _member(db, admin, user_id)
    password = secrets.token_urlsafe(12)
    user.password_hash = hash_password(password)
    user.locked_until = None
    user.failed_logins = 0
    revoke_sessions(db, user.id)
    audit.record(
        db,
        merchant_id=admin.merchant_id,
        entity_type="user",
        entity_id=user.id,
        action="password_reset",
        actor=f"user:{admin.id}",
    )
    return user, password
