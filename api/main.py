"""The FastAPI application: `uvicorn api.main:app` (or `create_app()` in tests)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from api.routers import (
    auth,
    carrier,
    handoffs,
    health,
    orders,
    photos,
    pickups,
    policy_info,
    returns,
    warehouse,
)

log = logging.getLogger("api")


def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
    """422 with one readable sentence in `detail`, plus the field errors."""
    errors = exc.errors()
    first = errors[0] if errors else {}
    place = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
    message = str(first.get("msg", "invalid request")).removeprefix("Value error, ")
    detail = f"{place}: {message}" if place else message
    return JSONResponse(
        {
            "detail": detail,
            "errors": [
                {"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")} for e in errors
            ],
        },
        status_code=422,
    )


@asynccontextmanager
async def _lifespan(_: FastAPI) -> AsyncIterator[None]:
    """The outbox worker (emails, chat notices) runs as a thread beside the API when enabled."""
    from api.settings import get_settings

    worker = None
    if get_settings().outbox_worker_enabled:
        from api.services.mailer import Worker

        worker = Worker().start()
    try:
        yield
    finally:
        if worker is not None:
            worker.stop()


def create_app() -> FastAPI:
    app = FastAPI(
        lifespan=_lifespan,
        title="Returns assistant API",
        version="1.0.0",
        description="Backend of the conversational returns assistant: orders, uploads, returns, "
        "pickups, the merchant dashboard and the demo shop.",
    )
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    for router in (
        health.router,
        orders.router,
        photos.router,
        returns.router,
        pickups.router,
        auth.router,
        policy_info.router,
        handoffs.router,
        carrier.router,
        warehouse.router,
    ):
        app.include_router(router)
    _include_web(app)
    return app


def _include_web(app: FastAPI) -> None:
    """The demo shop with the chat widget, and the merchant dashboard (HTML beside the JSON API)."""
    from api.dashboard import register as register_dashboard
    from api.web import register as register_shop

    register_shop(app)
    register_dashboard(app)


app = create_app()

__all__ = ["HTTPException", "app", "create_app"]
