"""The merchant dashboard at /merchant: review flagged returns, see the evidence, teach the model.

Server-rendered pages (Jinja2) with a little vanilla JavaScript; no external assets. See
docs/dashboard.md for the pages, the access rules and the security model.
"""

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.dashboard.auth import DashboardError, NotSignedIn

STATIC = Path(__file__).with_name("static")

# Pages may load only our own scripts, styles and images; no framing, forms post only to us.
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


def _not_signed_in(request: Request, exc: Exception) -> Response:
    if isinstance(exc, NotSignedIn) and exc.args and exc.args[0]:
        return JSONResponse({"detail": "Sign in to the dashboard."}, status_code=401)
    target = "/merchant/login"
    if request.method == "GET" and request.url.path not in ("/merchant", "/merchant/login"):
        from urllib.parse import quote

        target += "?next=" + quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
    return RedirectResponse(target, status_code=303)


def _dashboard_error(request: Request, exc: Exception) -> Response:
    from api.dashboard.routes import templates

    assert isinstance(exc, DashboardError)
    user = getattr(request.state, "dash_user", None)
    return templates.TemplateResponse(
        request,
        "error.html",
        {
            "status_code": exc.status_code,
            "message": exc.message,
            "user": user,
            "merchant": getattr(request.state, "dash_merchant", None),
        },
        status_code=exc.status_code,
    )


def register(app: FastAPI) -> None:
    """Mount the dashboard pages on the app."""
    from api.dashboard.routes import router

    app.include_router(router)
    app.mount("/merchant/static", StaticFiles(directory=STATIC), name="merchant-static")
    app.add_exception_handler(NotSignedIn, _not_signed_in)
    app.add_exception_handler(DashboardError, _dashboard_error)

    app.add_middleware(DashboardHeadersMiddleware)


class DashboardHeadersMiddleware:
    """Security headers on the dashboard's responses (/merchant...); every other path passes
    through untouched. Plain ASGI rather than `@app.middleware("http")`: Starlette's
    BaseHTTPMiddleware wrapped every API call in an extra task and body stream just to look at
    the path."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not path.startswith("/merchant"):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", CSP)
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "same-origin")
                if not path.startswith("/merchant/static"):
                    headers.setdefault("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, receive, send_with_headers)
