"""Who may use which dashboard route: every route under /merchant is listed here, and a test
fails when a new one is added without being listed.

- anonymous: pages redirect to the sign-in form, scripts get 401; nothing else
- reviewer: everything but the admin routes (403)
- admin: everything
- another merchant's return, photo, ticket, message or user: 404, and never its data
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from tests.dashboard import helpers


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    role: str  # public | reviewer | admin
    data: tuple[tuple[str, str], ...] = ()


ROUTES = (
    Route("GET", "/merchant", "public"),
    Route("GET", "/merchant/login", "public"),
    Route("POST", "/merchant/login", "public"),
    Route("GET", "/merchant/queue", "reviewer"),
    Route("GET", "/merchant/returns", "reviewer"),
    Route("GET", "/merchant/returns.csv", "reviewer"),
    Route("GET", "/merchant/returns/{rma}", "reviewer"),
    Route(
        "POST", "/merchant/returns/{rma}/request-photos", "reviewer", (("note", "Another angle, please."),)
    ),
    Route("POST", "/merchant/returns/{rma}/approve", "reviewer", (("note", "ok"),)),
    Route("POST", "/merchant/returns/{rma}/reject", "reviewer", (("note", "Not damaged."),)),
    Route("POST", "/merchant/returns/{rma}/receive", "reviewer", (("condition", "as_expected"),)),
    Route("POST", "/merchant/queue/approve", "reviewer", (("rma", "{rma}"),)),
    Route("GET", "/merchant/photos/{photo_id}", "reviewer"),
    Route("GET", "/merchant/photos/{photo_id}/heatmap.png", "reviewer"),
    Route("POST", "/merchant/photos/{photo_id}/verdict", "reviewer", (("label", "damaged"),)),
    Route("GET", "/merchant/handoffs", "reviewer"),
    Route("POST", "/merchant/handoffs/{ticket_id}/close", "reviewer"),
    Route("GET", "/merchant/outbox", "reviewer"),
    Route("GET", "/merchant/outbox/{message_id}", "reviewer"),
    Route("GET", "/merchant/analytics", "reviewer"),
    Route("GET", "/merchant/policy", "reviewer"),
    Route("GET", "/merchant/training", "reviewer"),
    Route("POST", "/merchant/policy", "admin", (("policy_yaml", "windows:\n  default: 21\n"),)),
    Route("GET", "/merchant/training/export.zip", "admin"),
    Route("GET", "/merchant/team", "admin"),
    Route("POST", "/merchant/team", "admin", (("email", "new@acme.example"), ("role", "reviewer"))),
    Route("POST", "/merchant/team/{user_id}/unlock", "admin"),
    Route("POST", "/merchant/team/{user_id}/reset-password", "admin"),
    Route("GET", "/merchant/audit", "admin"),
    Route("POST", "/merchant/logout", "reviewer"),
)
PROTECTED = [r for r in ROUTES if r.role != "public"]


def _objects(client: Any, merchant_slug: str, ret: dict[str, Any]) -> dict[str, Any]:
    """Ids of one shop's return, photo, ticket, outbox message and a user to act on."""
    from api.db import session_scope
    from api.models import HandoffTicket, Merchant, MerchantUser, OutboxMessage

    with session_scope() as db:
        merchant = db.scalar(select(Merchant).where(Merchant.slug == merchant_slug))
        assert merchant is not None
        ticket = HandoffTicket(
            merchant_id=merchant.id,
            conversation_id=f"conv-{merchant_slug}",
            message=f"Please call me ({merchant_slug})",
        )
        db.add(ticket)
        db.flush()
        message = db.scalar(select(OutboxMessage.id).where(OutboxMessage.merchant_id == merchant.id))
        member = db.scalar(
            select(MerchantUser.id).where(
                MerchantUser.merchant_id == merchant.id, MerchantUser.role == "reviewer"
            )
        )
        return {
            "rma": ret["rma"],
            "photo_id": ret["items"][0]["photo_ids"][0],
            "ticket_id": ticket.id,
            "message_id": message,
            "user_id": member,
            "email": ret.get("email", ""),
        }


@pytest.fixture
def world(client: Any, shops: dict[str, Any]) -> dict[str, dict[str, Any]]:
    acme = helpers.create_return(client)
    globex = helpers.create_return(client, order_number="900001", email="zoe@example.com", photos=1)
    helpers.make_user("globex", "rev@globex.example", "reviewer")
    return {"acme": _objects(client, "acme", acme), "globex": _objects(client, "globex", globex)}


def _call(client: Any, route: Route, ids: dict[str, Any], token: str | None, **kwargs: Any) -> Any:
    path = route.path.format(**ids)
    if route.method == "GET":
        return client.get(path, follow_redirects=False, **kwargs)
    data = {k: v.format(**ids) for k, v in route.data}
    if token is not None:
        data["csrf_token"] = token
    return client.post(path, data=data, follow_redirects=False, **kwargs)


def _served_routes(routes: list[Any], prefix: str = "") -> set[tuple[str, str]]:
    """(method, path) of every API route, included routers too (FastAPI keeps those nested)."""
    from fastapi.routing import APIRoute

    found: set[tuple[str, str]] = set()
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            context = getattr(route, "include_context", None)
            found |= _served_routes(inner.routes, prefix + (getattr(context, "prefix", "") or ""))
        elif isinstance(route, APIRoute):
            found |= {(method, prefix + route.path) for method in route.methods}
    return found


def test_every_dashboard_route_is_listed_here(client: Any) -> None:
    served = {(m, p) for m, p in _served_routes(client.app.routes) if p.startswith("/merchant")}
    listed = {(r.method, r.path) for r in ROUTES}
    assert served == listed


def test_anonymous_is_sent_to_sign_in_everywhere(client: Any, world: dict[str, Any]) -> None:
    for route in PROTECTED:
        response = _call(client, route, world["acme"], token="anything")
        assert response.status_code == 303, route
        assert response.headers["location"].startswith("/merchant/login"), route
        scripted = _call(
            client, route, world["acme"], token="anything", headers={"Accept": "application/json"}
        )
        assert scripted.status_code == 401, route
        assert "Acme" not in scripted.text


def test_a_forged_session_cookie_is_anonymous(client: Any, world: dict[str, Any]) -> None:
    client.cookies.set("merchant_session", "forged-" + "x" * 40, path="/merchant")
    for route in PROTECTED:
        assert _call(client, route, world["acme"], token="x").status_code == 303, route


def test_reviewer_is_refused_admin_routes(client: Any, world: dict[str, Any]) -> None:
    from api.db import session_scope
    from api.models import Merchant

    token = helpers.login(client, "rev@acme.example")
    for route in [r for r in ROUTES if r.role == "admin"]:
        response = _call(client, route, world["acme"], token)
        assert response.status_code == 403, route
        assert "Only an admin" in response.text
    with session_scope() as db:
        acme = db.scalar(select(Merchant).where(Merchant.slug == "acme"))
        assert acme is not None and acme.policy_yaml is None
    page = client.get("/merchant/policy")
    assert "<textarea" not in page.text  # reviewers see the policy, without the editor
    assert "/merchant/team" not in client.get("/merchant/queue").text


@pytest.mark.parametrize("who", ["rev@acme.example", "boss@acme.example"])
def test_reviewer_and_admin_use_the_review_routes(client: Any, world: dict[str, Any], who: str) -> None:
    token = helpers.login(client, who)
    for route in [r for r in PROTECTED if r.role == "reviewer" and r.path != "/merchant/logout"]:
        response = _call(client, route, world["acme"], token)
        expected = {200} if route.method == "GET" else {303}
        assert response.status_code in expected, (route, response.text[:300])
    assert (
        client.post("/merchant/logout", data={"csrf_token": token}, follow_redirects=False).status_code == 303
    )


def test_admin_uses_the_admin_routes(client: Any, world: dict[str, Any]) -> None:
    token = helpers.login(client, "boss@acme.example")
    for route in [r for r in ROUTES if r.role == "admin"]:
        response = _call(client, route, world["acme"], token)
        assert response.status_code in ({200} if route.method == "GET" else {200, 201, 303}), (
            route,
            response.text[:300],
        )


@pytest.mark.parametrize(
    ("signed_in", "other"), [("boss@acme.example", "globex"), ("boss@globex.example", "acme")]
)
def test_another_merchants_objects_are_not_found(
    client: Any, world: dict[str, Any], signed_in: str, other: str
) -> None:
    token = helpers.login(client, signed_in)
    theirs = world[other]
    with_ids = [r for r in PROTECTED if "{" in r.path]
    assert with_ids, "routes with ids exist"
    for route in with_ids:
        response = _call(client, route, theirs, token)
        assert response.status_code == 404, (route, response.status_code)
        assert theirs["rma"] not in response.text
    # Nothing of theirs changed: their return is still waiting for review.
    client.cookies.clear()
    helpers.login(client, "boss@acme.example" if other == "acme" else "boss@globex.example")
    page = client.get(f"/merchant/returns/{theirs['rma']}")
    assert page.status_code == 200
    assert "under review" in page.text


def test_lists_exports_and_charts_only_show_the_signed_in_merchant(
    client: Any, world: dict[str, Any]
) -> None:
    helpers.login(client, "boss@acme.example")
    globex_rma = world["globex"]["rma"]
    for path in (
        "/merchant/queue",
        "/merchant/returns",
        "/merchant/returns.csv",
        "/merchant/outbox",
        "/merchant/handoffs?status=all",
        "/merchant/audit",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        assert globex_rma not in response.text, path
        assert "zoe@example.com" not in response.text, path
        assert "Please call me (globex)" not in response.text, path
    for term in (globex_rma, "zoe@example.com", "900001"):
        found = client.get("/merchant/returns", params={"q": term})
        assert "0 returns match" in found.text, term
        assert "Zoe Park" not in found.text
        csv = client.get("/merchant/returns.csv", params={"q": term})
        assert csv.text.strip().count("\n") == 0, term  # the header line only
    assert world["acme"]["rma"] in client.get("/merchant/queue").text


def test_dashboard_responses_carry_security_headers_and_the_api_does_not(client: Any) -> None:
    security = ("Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy")
    for path in ("/merchant/login", "/merchant/queue", "/merchant/no-such-page"):
        response = client.get(path, follow_redirects=False)
        for name in security:
            assert name in response.headers, (path, name)
        assert response.headers["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["Cache-Control"] == "no-store", path
    static = client.get("/merchant/static/dashboard.css")
    assert static.status_code == 200
    assert static.headers["X-Content-Type-Options"] == "nosniff"
    assert static.headers.get("Cache-Control") != "no-store"  # the stylesheet may be cached
    api = client.get("/api/v1/policy")
    assert api.status_code == 200
    for name in (*security, "Cache-Control"):
        assert name not in api.headers, name
