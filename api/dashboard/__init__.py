"""The merchant dashboard at /merchant: review flagged returns, see the evidence, teach the model.

Server-rendered pages (Jinja2) with a little vanilla JavaScript; no external assets. See
docs/dashboard.md for the pages, the access rules and the security model.
"""

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

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

    @app.middleware("http")
    async def dashboard_headers(request: Request, call_next):  # type: ignore[no-untyped-def]
        response: Response = await call_next(request)
        if request.url.path.startswith("/merchant"):
            response.headers.setdefault("Content-Security-Policy", CSP)
            response.headers.setdefault("X-Frame-Options", "DENY")
            response.headers.setdefault("X-Content-Type-Options", "nosniff")
            response.headers.setdefault("Referrer-Policy", "same-origin")
            if not request.url.path.startswith("/merchant/static"):
                response.headers.setdefault("Cache-Control", "no-store")
        return response
