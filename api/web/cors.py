"""CORS for the widget's cross-origin calls only (a shop on another origin embedding the widget)."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

# What the widget calls on the API from the shop's page.
WIDGET_PATHS = frozenset({"/api/v1/uploads"})


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


class WidgetCORSMiddleware:
    """Starlette's CORSMiddleware, applied to the widget's paths and nothing else."""

    def __init__(self, app: ASGIApp, origins: list[str], paths: frozenset[str] = WIDGET_PATHS) -> None:
        self.app = app
        self.paths = paths
        self.cors = CORSMiddleware(
            app,
            allow_origins=origins,
            allow_methods=["POST"],
            allow_headers=["Content-Type"],
            allow_credentials=False,
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in self.paths:
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)
