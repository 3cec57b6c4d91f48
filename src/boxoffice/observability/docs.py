"""Interactive API documentation that works offline: Swagger UI's assets are served from the
installed ``fastapi-offline`` package instead of a CDN (an embedded install may have no
network)."""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.staticfiles import StaticFiles
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Mount, Route

DOCS_URL = "/docs"
ASSETS_URL = "/docs/assets"
_ASSETS = Path(fastapi_offline.__file__).parent / "static"


def install_docs(app: FastAPI) -> None:
    """Public, read-only pages (Starlette routes, outside the API and its OpenAPI document)."""
    openapi_url = app.openapi_url or ""
    redirect_url = f"{DOCS_URL}/oauth2-redirect"

    async def swagger_ui(request: Request) -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} — API documentation",
            oauth2_redirect_url=redirect_url,
            swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_URL}/favicon.png",
        )

    async def oauth2_redirect(request: Request) -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    app.router.routes.extend(
        [
            Route(DOCS_URL, swagger_ui, include_in_schema=False),
            Route(redirect_url, oauth2_redirect, include_in_schema=False),
            Mount(ASSETS_URL, StaticFiles(directory=_ASSETS), name="docs-assets"),
        ]
    )
