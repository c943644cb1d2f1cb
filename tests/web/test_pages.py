"""The demo shop pages and the widget's files, through the in-process API."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import pytest

from api.seed import DEMO_ORDERS
from api.web import assets
from api.web.pages import content_security_policy

PAGES = ["/", "/orders", "/webchat"]


class Resources(HTMLParser):
    """Every URL a page would load or link to (src, href), and the widget's script tag."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.widget: dict[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        for key in ("src", "href", "action", "poster"):
            if values.get(key):
                self.urls.append(values[key])
        if tag == "script" and values.get("src", "").endswith("/widget.js"):
            self.widget = values


def parse(html: str) -> Resources:
    parser = Resources()
    parser.feed(html)
    return parser


@pytest.mark.parametrize("path", PAGES)
def test_pages_render(client: Any, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "Acme Outfitters" in response.text
    assert '<html lang="en">' in response.text


@pytest.mark.parametrize("path", PAGES)
def test_pages_load_nothing_from_outside(client: Any, path: str) -> None:
    response = client.get(path)
    own = str(client.base_url).rstrip("/")
    for url in parse(response.text).urls:
        assert url.startswith(("/", "#", own)), f"{path} refers to an outside URL: {url}"
    assert "googleapis" not in response.text and "cdn" not in response.text.lower()
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "font-src 'self'" in csp


def test_shop_embeds_the_widget_with_one_script_tag(client: Any) -> None:
    page = parse(client.get("/").text)
    assert page.widget is not None
    assert page.widget["data-server"] == "http://127.0.0.1:5005"  # settings.rasa_url by default
    assert page.widget["data-api"] == str(client.base_url).rstrip("/")
    assert page.widget["data-merchant"] == "acme"
    assert re.fullmatch(r"#[0-9a-fA-F]{6}", page.widget["data-color"])
    assert page.widget["data-title"] == "Acme Outfitters"
    assert page.widget["data-greeting"]


def test_widget_points_at_public_rasa_url(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from api.settings import get_settings

    monkeypatch.setenv("PUBLIC_RASA_URL", "https://chat.shop.example/")
    get_settings.cache_clear()
    page = client.get("/")
    assert parse(page.text).widget["data-server"] == "https://chat.shop.example"  # type: ignore[index]
    assert "wss://chat.shop.example" in page.headers["content-security-policy"]


def test_storefront_shows_seeded_products(client: Any) -> None:
    html = client.get("/").text
    for name in ("Running shoes", "Ceramic vase", "Wireless headphones"):
        assert name in html
    assert "$60.00" in html


def test_orders_page_lists_every_demo_order(client: Any) -> None:
    html = client.get("/orders").text
    assert "Demo data" in html
    blocks = {chunk[:6]: chunk for chunk in html.split('data-order="')[1:]}
    assert sorted(blocks) == sorted(order.number for order in DEMO_ORDERS)
    for order in DEMO_ORDERS:
        block = blocks[order.number]
        assert order.email in block
        assert order.postcode in block
        for item in order.items:
            assert item.name in block
    assert "Shipped, on its way" in html  # 100236 is not delivered
    assert "Delivered 45 days ago" in html  # 100233 is outside the window


def test_orders_page_is_hidden_in_production(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from api.settings import get_settings

    monkeypatch.setenv("ENVIRONMENT", "production")
    get_settings.cache_clear()
    assert client.get("/orders").status_code == 404
    assert 'href="/orders"' not in client.get("/").text


def test_widget_script_is_served_as_javascript(client: Any) -> None:
    response = client.get("/widget.js")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    assert response.headers["x-content-type-options"] == "nosniff"
    body = response.text
    assert "window.ReturnsAssistant" in body
    assert "__WIDGET_VERSION__" not in body
    assert "innerHTML" not in body.split("var io = globalThis.io;", 1)[-1]  # the widget's own code
    again = client.get("/widget.js", headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304


@pytest.mark.skipif(not assets.socket_io_available(), reason="npm packages not installed (make web)")
def test_widget_script_bundles_the_socket_io_client(client: Any) -> None:
    body = client.get("/widget.js").text
    assert "Socket.IO v4" in body
    assert body.index("Socket.IO v4") < body.index("window.ReturnsAssistant")


def test_widget_css_is_served(client: Any) -> None:
    response = client.get("/widget.css")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
    assert "@media (max-width: 480px)" in response.text


@pytest.mark.skipif(not assets.rasa_webchat_available(), reason="npm packages not installed (make web)")
def test_rasa_webchat_bundle_has_no_font_cdn(client: Any) -> None:
    response = client.get("/vendor/rasa-webchat.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert "fonts.googleapis.com/css" not in response.text
    assert "WebChat" in response.text[:2000]


def test_webchat_page_uses_our_socketio_channel(client: Any) -> None:
    html = client.get("/webchat").text
    assert 'src="/vendor/rasa-webchat.js"' in html
    assert 'data-server="http://127.0.0.1:5005"' in html
    assert parse(html).widget is None  # only the third-party widget on that page


def test_content_security_policy_allows_rasa_websocket() -> None:
    csp = content_security_policy("https://rasa.shop.example:5005/", "https://shop.example")
    assert "connect-src 'self' https://rasa.shop.example:5005 wss://rasa.shop.example:5005" in csp


def test_uploads_allow_configured_origins(client: Any) -> None:
    preflight = client.options(
        "/api/v1/uploads",
        headers={"Origin": "http://localhost:8000", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "http://localhost:8000"
    refused = client.options(
        "/api/v1/uploads",
        headers={"Origin": "https://elsewhere.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in refused.headers


def test_upload_answer_carries_cors_header(client: Any) -> None:
    response = client.post(
        "/api/v1/uploads",
        headers={"Origin": "http://127.0.0.1:8000"},
        files={"file": ("note.png", b"not an image", "image/png")},
    )
    assert 400 <= response.status_code < 500
    assert response.json()["detail"]
    assert response.headers["access-control-allow-origin"] == "http://127.0.0.1:8000"


def test_cors_is_limited_to_the_widget_paths(client: Any) -> None:
    response = client.get("/healthz", headers={"Origin": "http://localhost:8000"})
    assert "access-control-allow-origin" not in response.headers


def test_cors_origins_setting_parses_comma_list(monkeypatch: pytest.MonkeyPatch) -> None:
    from api.settings import Settings

    monkeypatch.setenv("CORS_ORIGINS", "https://a.example, https://b.example/")
    assert Settings().cors_origins == ["https://a.example", "https://b.example"]
    monkeypatch.setenv("CORS_ORIGINS", '["https://c.example"]')
    assert Settings().cors_origins == ["https://c.example"]
