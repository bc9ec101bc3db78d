"""`/docs` (Swagger UI) and `/redoc` (ReDoc), with their JavaScript, CSS and icon served from `static/` in the
package rather than from a CDN: the docs work offline, and opening them tells no third party about the server."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, swagger_ui_default_parameters
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).parent / "static"
STATIC_URL = "/static/api-docs"

# Swagger UI shows a badge fetched from validator.swagger.io (sending it the spec's URL) unless this is null.
SWAGGER_UI_PARAMETERS = {**swagger_ui_default_parameters, "validatorUrl": None}


def install_api_docs(app: FastAPI, title: str) -> None:
    """Serve the docs pages and their assets; create the app with `docs_url=None, redoc_url=None`."""
    app.mount(STATIC_URL, StaticFiles(directory=STATIC_DIR), name="api-docs-static")
    openapi_url = app.openapi_url or "/openapi.json"
    favicon = f"{STATIC_URL}/swagger-ui/favicon-32x32.png"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{title} - Swagger UI",
            swagger_js_url=f"{STATIC_URL}/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url=f"{STATIC_URL}/swagger-ui/swagger-ui.css",
            swagger_favicon_url=favicon,
            swagger_ui_parameters=SWAGGER_UI_PARAMETERS,
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title=f"{title} - ReDoc",
            redoc_js_url=f"{STATIC_URL}/redoc/redoc.standalone.js",
            redoc_favicon_url=favicon,
            with_google_fonts=False,
        )
