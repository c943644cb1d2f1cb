"""The demo shop (storefront, order history), the embeddable chat widget and the rasa-webchat page.

Routes: `/` shop, `/orders` demo orders, `/webchat` rasa-webchat, `/widget.js` + `/widget.css`
the widget, `/vendor/rasa-webchat.js`, `/web/static/...` the shop's own files. See docs/widget.md.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api.settings import get_settings


def register(app: FastAPI) -> None:
    """Mount the shop pages, the widget and its CORS rules on the app."""
    from api.web.assets import STATIC_DIR
    from api.web.assets import router as assets_router
    from api.web.cors import WidgetCORSMiddleware, origin_of
    from api.web.pages import router as pages_router

    settings = get_settings()
    origins = list(dict.fromkeys([*settings.cors_origins, origin_of(settings.public_base_url)]))
    app.add_middleware(WidgetCORSMiddleware, origins=[o for o in origins if o])
    app.include_router(assets_router)
    app.include_router(pages_router)
    app.mount("/web/static", StaticFiles(directory=STATIC_DIR), name="web-static")
