"""Signing in and out: argon2 passwords, cookie flags, CSRF on every form, lock-out, sessions."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from sqlalchemy import select

from tests.dashboard.helpers import PASSWORD, csrf_of, login


def _set_cookies(response: Any) -> list[str]:
    return response.headers.get_list("set-cookie")


def _session_cookie(response: Any) -> str:
    return next(c for c in _set_cookies(response) if c.startswith("merchant_session="))


def _post_login(client: Any, email: str, password: str, **extra: str) -> Any:
    page = client.get("/merchant/login")
    data = {"email": email, "password": password, "csrf_token": csrf_of(page.text), **extra}
    return client.post("/merchant/login", data=data, follow_redirects=False)


def test_sign_in_sets_a_hardened_session_cookie(client: Any, shops: dict[str, Any]) -> None:
    response = _post_login(client, "rev@acme.example", PASSWORD)
    assert response.status_code == 303
    assert response.headers["location"] == "/merchant/queue"
    cookie = _session_cookie(response).lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "path=/merchant" in cookie
    assert "secure" not in cookie  # plain http in tests
    assert client.get("/merchant/queue").status_code == 200


def test_session_cookie_is_secure_behind_https(client: Any, shops: dict[str, Any]) -> None:
    page = client.get("/merchant/login", headers={"X-Forwarded-Proto": "https"})
    assert "secure" in page.headers["set-cookie"].lower()
    # The browser sees https and sends the Secure cookie back; this test client speaks http.
    client.cookies.set("merchant_login_csrf", csrf_of(page.text))
    response = client.post(
        "/merchant/login",
        data={"email": "rev@acme.example", "password": PASSWORD, "csrf_token": csrf_of(page.text)},
        headers={"X-Forwarded-Proto": "https"},
        follow_redirects=False,
    )
    assert "secure" in _session_cookie(response).lower()


def test_session_cookie_is_secure_when_public_url_is_https(
    client: Any, shops: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from api.settings import get_settings

    monkeypatch.setenv("PUBLIC_BASE_URL", "https://returns.example")
    get_settings.cache_clear()
    page = client.get("/merchant/login")
    assert "secure" in page.headers["set-cookie"].lower()
    client.cookies.set("merchant_login_csrf", csrf_of(page.text))  # as the https browser would
    response = client.post(
        "/merchant/login",
        data={"email": "rev@acme.example", "password": PASSWORD, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert "secure" in _session_cookie(response).lower()


def test_only_a_hash_of_the_session_token_is_stored(client: Any, shops: dict[str, Any]) -> None:
    from api.db import session_scope
    from api.models import DashboardSession

    _post_login(client, "rev@acme.example", PASSWORD)
    token = client.cookies.get("merchant_session")
    with session_scope() as db:
        ids = list(db.scalars(select(DashboardSession.id)))
    assert token not in ids
    assert hashlib.sha256(token.encode()).hexdigest() in ids


def test_wrong_password_is_refused_without_saying_which_part_was_wrong(
    client: Any, shops: dict[str, Any]
) -> None:
    wrong_password = _post_login(client, "rev@acme.example", "nope")
    unknown_user = _post_login(client, "nobody@acme.example", "nope")
    assert wrong_password.status_code == unknown_user.status_code == 401
    assert "Incorrect email or password." in wrong_password.text
    assert "Incorrect email or password." in unknown_user.text
    assert "merchant_session" not in client.cookies


def test_lock_out_after_repeated_failures(client: Any, shops: dict[str, Any]) -> None:
    from api.db import session_scope
    from api.models import AuditLog, MerchantUser

    for _ in range(5):
        assert _post_login(client, "rev@acme.example", "wrong").status_code == 401
    locked = _post_login(client, "rev@acme.example", PASSWORD)  # even the right password
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.text
    assert int(locked.headers["retry-after"]) > 0
    assert client.get("/merchant/queue", follow_redirects=False).status_code == 303
    with session_scope() as db:
        user = db.scalar(select(MerchantUser).where(MerchantUser.email == "rev@acme.example"))
        assert user is not None and user.locked_until is not None
        assert db.scalar(
            select(AuditLog).where(AuditLog.action == "locked_out", AuditLog.entity_id == str(user.id))
        )


def test_admin_unlocks_a_locked_out_reviewer(client: Any, shops: dict[str, Any]) -> None:
    for _ in range(5):
        _post_login(client, "rev@acme.example", "wrong")
    token = login(client, "boss@acme.example")
    team = client.get("/merchant/team")
    assert "locked until" in team.text
    response = client.post(
        f"/merchant/team/{shops['acme_reviewer']}/unlock", data={"csrf_token": token}, follow_redirects=False
    )
    assert response.status_code == 303
    client.cookies.clear()
    assert _post_login(client, "rev@acme.example", PASSWORD).status_code == 303


@pytest.mark.parametrize("token", [None, "", "forged-token"])
def test_sign_in_form_without_a_valid_csrf_token_is_refused(
    client: Any, shops: dict[str, Any], token: str | None
) -> None:
    client.get("/merchant/login")  # the CSRF cookie is set, but the form does not carry it
    data = {"email": "rev@acme.example", "password": PASSWORD}
    if token is not None:
        data["csrf_token"] = token
    response = client.post("/merchant/login", data=data, follow_redirects=False)
    assert response.status_code == 403
    assert "merchant_session" not in client.cookies


def test_sign_in_csrf_needs_the_cookie_too(client: Any, shops: dict[str, Any]) -> None:
    page = client.get("/merchant/login")
    token = csrf_of(page.text)
    client.cookies.clear()  # another site can post the token it saw, but not set our cookie
    response = client.post(
        "/merchant/login",
        data={"email": "rev@acme.example", "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 403


@pytest.mark.parametrize("token", [None, "", "forged-token"])
def test_signed_in_forms_without_the_session_csrf_token_are_refused(
    client: Any, flagged: dict[str, Any], reviewer: str, token: str | None
) -> None:
    data = {"note": "ok"}
    if token is not None:
        data["csrf_token"] = token
    response = client.post(f"/merchant/returns/{flagged['rma']}/approve", data=data, follow_redirects=False)
    assert response.status_code == 403
    assert client.get(f"/merchant/returns/{flagged['rma']}").text.count("under review") >= 1


def test_csrf_token_of_another_session_is_refused(client: Any, flagged: dict[str, Any]) -> None:
    other_token = login(client, "boss@acme.example")
    client.cookies.clear()
    login(client, "rev@acme.example")
    response = client.post(
        f"/merchant/returns/{flagged['rma']}/approve",
        data={"csrf_token": other_token},
        follow_redirects=False,
    )
    assert response.status_code == 403


def test_csrf_header_is_accepted_for_scripts(client: Any, flagged: dict[str, Any], reviewer: str) -> None:
    response = client.post(
        f"/merchant/returns/{flagged['rma']}/request-photos",
        data={"note": "A photo of the left ear cup, please."},
        headers={"X-CSRF-Token": reviewer},
        follow_redirects=False,
    )
    assert response.status_code == 303


def test_sign_out_ends_the_session_on_the_server(client: Any, shops: dict[str, Any]) -> None:
    token = login(client, "rev@acme.example")
    stolen = client.cookies.get("merchant_session")
    response = client.post("/merchant/logout", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/merchant/login"
    client.cookies.clear()
    client.cookies.set("merchant_session", stolen, path="/merchant")
    assert client.get("/merchant/queue", follow_redirects=False).status_code == 303


def test_sign_out_needs_csrf(client: Any, reviewer: str) -> None:
    assert client.post("/merchant/logout", data={}, follow_redirects=False).status_code == 403
    assert client.get("/merchant/queue").status_code == 200


def test_sign_in_redirects_back_but_never_off_site(client: Any, shops: dict[str, Any]) -> None:
    assert client.get("/merchant/returns?q=100234", follow_redirects=False).headers["location"] == (
        "/merchant/login?next=/merchant/returns%3Fq%3D100234"
    )
    back = _post_login(client, "rev@acme.example", PASSWORD, next="/merchant/analytics")
    assert back.headers["location"] == "/merchant/analytics"
    client.cookies.clear()
    for evil in ("https://evil.example/", "//evil.example", "/merchant/..//evil", "javascript:alert(1)"):
        response = _post_login(client, "rev@acme.example", PASSWORD, next=evil)
        assert response.headers["location"] == "/merchant/queue", evil
        client.cookies.clear()


def test_expired_session_is_refused(client: Any, shops: dict[str, Any]) -> None:
    from datetime import UTC, datetime, timedelta

    from api.db import session_scope
    from api.models import DashboardSession

    login(client, "rev@acme.example")
    with session_scope() as db:
        for row in db.scalars(select(DashboardSession)):
            row.last_seen_at = datetime.now(UTC) - timedelta(hours=3)  # idle too long
    assert client.get("/merchant/queue", follow_redirects=False).status_code == 303


def test_pages_send_security_headers(client: Any, reviewer: str) -> None:
    response = client.get("/merchant/queue")
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store"
    assert client.get("/merchant/static/dashboard.css").status_code == 200


def test_admin_adds_a_reviewer_who_can_then_sign_in(client: Any, admin: str) -> None:
    import re

    response = client.post(
        "/merchant/team",
        data={"csrf_token": admin, "email": "New@Acme.example", "name": "Nia", "role": "reviewer"},
    )
    assert response.status_code == 201
    password = re.search(r'data-testid="new-password">([^<]+)<', response.text)
    assert password
    assert password.group(1) not in client.get("/merchant/team").text  # shown once only
    again = client.post("/merchant/team", data={"csrf_token": admin, "email": "new@acme.example"})
    assert "already has a dashboard login" in again.text
    client.cookies.clear()
    login(client, "new@acme.example", password.group(1))
    assert client.get("/merchant/team").status_code == 403
