"""The demo shop's pages: storefront, order history (demo helper), and the rasa-webchat page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from api.deps import SessionDep
from api.settings import get_settings
from api.web.assets import rasa_webchat_available
from api.web.cors import origin_of
from api.web.demo import DEFAULT_COLOR, DEFAULT_NAME, demo_merchant, demo_orders, storefront_products

templates = Jinja2Templates(directory=str(Path(__file__).resolve().parent / "templates"))
router = APIRouter(include_in_schema=False)


def _websocket_origin(origin: str) -> str:
    return "wss" + origin[5:] if origin.startswith("https") else "ws" + origin[4:]


def content_security_policy(rasa_url: str, public_base_url: str) -> str:
    """Our pages load nothing from outside: scripts, styles and fonts come from this server only."""
    rasa = origin_of(rasa_url)
    api = origin_of(public_base_url)
    connect = " ".join(
        dict.fromkeys(s for s in ("'self'", rasa, _websocket_origin(rasa) if rasa else "", api) if s)
    )
    images = " ".join(dict.fromkeys(s for s in ("'self'", "data:", "blob:", api) if s))
    return (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        f"img-src {images}; connect-src {connect}; font-src 'self' data:; object-src 'none'; "
        "base-uri 'self'; form-action 'self'; frame-ancestors 'self'"
    )


def _page(request: Request, session: SessionDep, template: str, **context: Any) -> HTMLResponse:
    settings = get_settings()
    merchant = demo_merchant(session)
    base = str(request.base_url).rstrip("/")
    response = templates.TemplateResponse(
        request,
        template,
        {
            "merchant_name": merchant.name if merchant else DEFAULT_NAME,
            "brand_color": merchant.brand_color if merchant else DEFAULT_COLOR,
            "merchant_slug": merchant.slug if merchant else "acme",
            "seeded": merchant is not None,
            "api_base": base,
            "rasa_url": settings.widget_rasa_url,
            "show_demo_orders": settings.environment != "production",
            **context,
        },
    )
    response.headers["Content-Security-Policy"] = content_security_policy(
        settings.widget_rasa_url, settings.public_base_url
    )
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@router.get("/", response_class=HTMLResponse)
def storefront(request: Request, session: SessionDep) -> HTMLResponse:
    """The demo merchant's shop front, with the chat widget."""
    products = storefront_products(session, demo_merchant(session))
    return _page(request, session, "shop.html", products=products, page="shop")


@router.get("/orders", response_class=HTMLResponse)
def order_history(request: Request, session: SessionDep) -> HTMLResponse:
    """The seeded demo orders with their numbers, emails and postcodes: what to type in the chat."""
    if get_settings().environment == "production":
        raise HTTPException(404, "Not Found")
    orders = demo_orders(session, demo_merchant(session))
    return _page(request, session, "orders.html", orders=orders, page="orders")


@router.get("/webchat", response_class=HTMLResponse)
def webchat(request: Request, session: SessionDep) -> HTMLResponse:
    """The same bot through the third-party rasa-webchat widget (npm), to show the channel is standard."""
    return _page(request, session, "webchat.html", page="webchat", webchat_installed=rasa_webchat_available())
