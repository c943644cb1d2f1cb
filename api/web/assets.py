"""The widget's script and the npm-installed browser packages, served by the API.

`/widget.js` is one file: the Socket.IO client from `node_modules` (installed by `make web`)
wrapped so that it neither touches the host page's globals nor trips an AMD loader, followed by
the widget itself. Nothing is bundled at build time or committed: the files are read from disk
once and kept in memory, keyed by their modification times.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response

log = logging.getLogger("api.web")

WEB_DIR = Path(__file__).resolve().parent
STATIC_DIR = WEB_DIR / "static"
NODE_MODULES = WEB_DIR / "node_modules"
SOCKET_IO_JS = NODE_MODULES / "socket.io-client" / "dist" / "socket.io.min.js"
RASA_WEBCHAT_JS = NODE_MODULES / "rasa-webchat" / "lib" / "index.js"
WIDGET_SOURCE = WEB_DIR / "widget" / "widget.js"
WIDGET_CSS = WEB_DIR / "widget" / "widget.css"

JS_TYPE = "text/javascript; charset=utf-8"
# rasa-webchat's bundle @imports a web font from a font CDN; the demo must fetch nothing from outside.
WEBCHAT_FONT_IMPORT = "@import url(https://fonts.googleapis.com/css?family=Inter:400,500,700&display=swap);"

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class Asset:
    body: bytes
    etag: str


_cache: dict[str, tuple[tuple[float, ...], Asset]] = {}


def _mtimes(*paths: Path) -> tuple[float, ...]:
    return tuple(p.stat().st_mtime if p.exists() else -1.0 for p in paths)


def _cached(name: str, paths: tuple[Path, ...], build: Callable[[], bytes]) -> Asset:
    stamp = _mtimes(*paths)
    hit = _cache.get(name)
    if hit and hit[0] == stamp:
        return hit[1]
    body = build()
    asset = Asset(body, '"' + hashlib.sha256(body).hexdigest()[:20] + '"')
    _cache[name] = (stamp, asset)
    return asset


def socket_io_available() -> bool:
    return SOCKET_IO_JS.is_file()


def rasa_webchat_available() -> bool:
    return RASA_WEBCHAT_JS.is_file()


def css_version() -> str:
    return hashlib.sha256(WIDGET_CSS.read_bytes()).hexdigest()[:12]


def _build_widget() -> bytes:
    if socket_io_available():
        client = SOCKET_IO_JS.read_text(encoding="utf-8")
    else:
        log.warning("%s is missing: run `make web`; the chat widget will say it is unavailable", SOCKET_IO_JS)
        client = (
            'console.error("returns assistant widget: the Socket.IO client is not installed (make web)");'
        )
    widget = WIDGET_SOURCE.read_text(encoding="utf-8").replace("__WIDGET_VERSION__", css_version())
    text = (
        "/*! Returns assistant chat widget. Bundles the Socket.IO client (MIT licence). */\n"
        "(function () {\n"
        # Shadowed so the UMD wrapper of socket.io-client stores `io` here, not on the page.
        "var define, module, exports, globalThis = {};\n"
        f"{client}\n"
        "var io = globalThis.io;\n"
        f"{widget}\n"
        "})();\n"
    )
    return text.encode("utf-8")


def widget_js() -> Asset:
    return _cached("widget.js", (SOCKET_IO_JS, WIDGET_SOURCE, WIDGET_CSS), _build_widget)


def _build_webchat() -> bytes:
    text = RASA_WEBCHAT_JS.read_text(encoding="utf-8")
    return text.replace(WEBCHAT_FONT_IMPORT, "").encode("utf-8")


def rasa_webchat_js() -> Asset:
    return _cached("rasa-webchat.js", (RASA_WEBCHAT_JS,), _build_webchat)


def _serve(request: Request, asset: Asset, media_type: str, max_age: int) -> Response:
    headers = {
        "ETag": asset.etag,
        "Cache-Control": f"public, max-age={max_age}",
        "X-Content-Type-Options": "nosniff",
    }
    if request.headers.get("if-none-match") == asset.etag:
        return Response(status_code=304, headers=headers)
    return Response(asset.body, media_type=media_type, headers=headers)


@router.get("/widget.js")
def get_widget_js(request: Request) -> Response:
    """The embeddable chat widget (one script tag; see docs/widget.md)."""
    return _serve(request, widget_js(), JS_TYPE, max_age=300)


@router.get("/widget.css")
def get_widget_css() -> FileResponse:
    """The widget's stylesheet, injected by /widget.js (versioned by a query string)."""
    return FileResponse(
        WIDGET_CSS, media_type="text/css; charset=utf-8", headers={"Cache-Control": "public, max-age=86400"}
    )


@router.get("/vendor/rasa-webchat.js")
def get_rasa_webchat(request: Request) -> Response:
    """The third-party rasa-webchat UMD bundle from node_modules (font CDN import removed)."""
    if not rasa_webchat_available():
        return Response(
            'console.error("rasa-webchat is not installed: run `make web`");',
            status_code=503,
            media_type=JS_TYPE,
        )
    return _serve(request, rasa_webchat_js(), JS_TYPE, max_age=3600)
