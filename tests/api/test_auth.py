"""POST /api/v1/auth/token: the merchant's OAuth2 password flow, argon2 hashes, lockout."""

from __future__ import annotations

from typing import Any

from api.models import AuditLog, MerchantUser
from api.seed import ADMIN_EMAIL
from tests.api.helpers import rows, sqlite_only
from tests.db_templates import MERCHANT_PASSWORD

URL = "/api/v1/auth/token"
BAD_LOGIN = {"detail": "Incorrect email or password."}


def login(client: Any, username: str = ADMIN_EMAIL, password: str = MERCHANT_PASSWORD) -> Any:
    return client.post(URL, data={"username": username, "password": password})


def test_token_for_the_right_password(client: Any) -> None:
    r = login(client)
    assert r.status_code == 200, r.text
    assert r.json()["token_type"] == "bearer" and r.json()["access_token"]
    token = r.json()["access_token"]
    assert client.get("/api/v1/returns", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_email_is_case_insensitive(client: Any) -> None:
    assert login(client, username=f"  {ADMIN_EMAIL.upper()} ").status_code == 200


def test_passwords_are_stored_as_argon2_hashes(database: str) -> None:
    [user] = rows(MerchantUser)
    assert user.password_hash.startswith("$argon2id$")
    assert MERCHANT_PASSWORD not in user.password_hash


def test_wrong_password_and_unknown_user_answer_the_same_401(client: Any) -> None:
    wrong = login(client, password="not-it")
    unknown = login(client, username="nobody@example.com")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json() == BAD_LOGIN
    assert wrong.headers["WWW-Authenticate"] == "Bearer"


@sqlite_only
def test_missing_form_fields_are_422(client: Any) -> None:
    assert client.post(URL, data={"username": ADMIN_EMAIL}).status_code == 422
    assert client.post(URL, json={"username": ADMIN_EMAIL, "password": MERCHANT_PASSWORD}).status_code == 422


def test_lockout_after_repeated_failures_is_429_with_retry_after(client: Any) -> None:
    from api.routers.auth import MAX_FAILURES

    for _ in range(MAX_FAILURES):
        assert login(client, password="guess").status_code == 401
    locked = login(client)  # even the right password, while locked
    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) > 0
    assert "Too many" in locked.json()["detail"]
    [user] = rows(MerchantUser)
    assert user.locked_until is not None
    assert [a.action for a in rows(AuditLog, AuditLog.entity_type == "user")] == ["locked_out"]


def test_a_success_resets_the_failure_count(client: Any) -> None:
    from api.routers.auth import MAX_FAILURES

    for _ in range(MAX_FAILURES - 1):
        login(client, password="guess")
    assert login(client).status_code == 200
    assert rows(MerchantUser)[0].failed_logins == 0
    assert login(client, password="guess").status_code == 401
    assert login(client).status_code == 200


@sqlite_only
def test_tokens_are_signed(client: Any) -> None:
    token = login(client).json()["access_token"]
    payload, mac = token.split(".")
    forged = payload + "." + ("A" if mac[0] != "A" else "B") + mac[1:]
    assert client.get("/api/v1/returns", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
