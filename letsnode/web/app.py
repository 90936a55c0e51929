"""The Starlette application: API routes, the static wallet, and the security middleware."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from letsnode.core.errors import LetsError
from letsnode.web import admin, auth, checks, clearing_admin, directory, transfers, wallet
from letsnode.web.common import Limits
from letsnode.web.i18n import LOCALES
from letsnode.web.openapi import openapi_document
from letsnode.web.port import NodePort
from letsnode.web.problems import http_error_handler, lets_error_handler
from letsnode.web.security import MAX_BODY_BYTES, SecurityMiddleware

STATIC = Path(__file__).parent / "static"


def package_version() -> str:
    try:
        return version("letsnode")
    except PackageNotFoundError:
        return "0"


def web_manifest(node: NodePort) -> dict[str, Any]:
    """The installable wallet's manifest, named after the community."""
    g = node.genesis
    icons = [
        {"src": "/icons/icon-192.png", "sizes": "192x192", "type": "image/png"},
        {"src": "/icons/icon-512.png", "sizes": "512x512", "type": "image/png"},
        {
            "src": "/icons/icon-maskable-512.png",
            "sizes": "512x512",
            "type": "image/png",
            "purpose": "maskable",
        },
    ]
    return {
        "name": g.name,
        "short_name": g.short,
        "description": f"The wallet of {g.name}",
        "id": "/",
        "start_url": "/#/home",
        "scope": "/",
        "display": "standalone",
        "orientation": "portrait",
        "background_color": "#f6f8f7",
        "theme_color": "#0b6e4f",
        "icons": icons,
    }


def create_app(
    node: NodePort, *, limits: Limits | None = None, max_body: int = MAX_BODY_BYTES
) -> Starlette:
    """The wallet and API of ``node``. ``limits`` overrides the default rate limits."""
    document = openapi_document(package_version())

    async def openapi(request: Request) -> Response:
        return JSONResponse(document)

    async def manifest(request: Request) -> Response:
        return JSONResponse(
            web_manifest(request.app.state.node), media_type="application/manifest+json"
        )

    routes: list[Any] = [
        *auth.routes,
        *checks.routes,  # before wallet's /api/payments/{seq}
        *wallet.routes,
        *transfers.routes,
        *directory.routes,
        *admin.routes,
        *clearing_admin.routes,
        Route("/api/openapi.json", openapi, methods=["GET"]),
        Route("/manifest.webmanifest", manifest, methods=["GET"]),
        Mount("/locales", app=StaticFiles(directory=LOCALES)),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(SecurityMiddleware, max_body=max_body)],
        exception_handlers={LetsError: lets_error_handler, HTTPException: http_error_handler},
    )
    # The wallet's files answer whatever no route matched, after the router has had its
    # say: a known API path with the wrong method stays a 405, not a missing file.
    app.router.default = StaticFiles(directory=STATIC, html=True)
    app.state.node = node
    app.state.limits = limits or Limits()
    return app
