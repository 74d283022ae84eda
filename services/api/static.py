"""Serving the built Angular UI: hashed assets cached forever, index.html never, SPA fallback."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

# Angular names its bundles `main-ABCD1234.js`, `styles-5INURTSO.css`, `chunk-XYZ.js`.
HASHED = re.compile(r"-[A-Z0-9]{8,}\.(js|css|mjs|woff2?|ttf|svg|png|jpg|webp)$")
BASE_HREF = re.compile(r'<base href="[^"]*">')
IMMUTABLE = "public, max-age=31536000, immutable"
NOT_CACHED = "no-cache"
DEFAULT_UI_DIR = Path(__file__).resolve().parents[2] / "ui" / "dist" / "pvcontrol" / "browser"

NOT_BUILT = """<!doctype html><html><head><meta charset="utf-8"><title>pv-control</title></head>
<body><h1>pv-control</h1><p>The UI is not built. Build it with <code>cd ui && npm ci && npm run build</code>.
The REST API is at <a href="api/pvcontrol">api/pvcontrol</a>, its documentation at
<a href="docs">docs</a>.</p></body></html>"""


def with_base_href(index_html: str, base: str) -> str:
    """The UI is built for `/`; served under `--basehref` its relative URLs must resolve there."""
    return BASE_HREF.sub(f'<base href="{base}">', index_html, count=1)


def ui_router(ui_dir: Path | None, base: str = "/") -> APIRouter:
    """Serve the UI whose pages live under `base` (`/` or `/<basehref>/`)."""
    root = (ui_dir or DEFAULT_UI_DIR).resolve()
    router = APIRouter(include_in_schema=False)

    def index_page(index: Path) -> Response:
        html = with_base_href(index.read_text(encoding="utf-8"), base)
        return HTMLResponse(html, headers={"Cache-Control": NOT_CACHED})

    if base != "/":

        @router.get("", include_in_schema=False)
        async def slash() -> Response:
            return RedirectResponse(base)

    @router.get("/{path:path}")
    async def ui(path: str) -> Response:
        index = root / "index.html"
        if not index.is_file():
            return HTMLResponse(NOT_BUILT, headers={"Cache-Control": NOT_CACHED})
        if path.startswith("api/"):
            raise HTTPException(status_code=404)
        try:
            file = (root / path).resolve()
            is_file = bool(path) and file.is_relative_to(root) and file.is_file()
        except (OSError, ValueError) as e:  # a NUL byte, a name too long for the file system
            raise HTTPException(status_code=404) from e
        if is_file:
            cache = IMMUTABLE if HASHED.search(file.name) else NOT_CACHED
            return FileResponse(file, headers={"Cache-Control": cache})
        return index_page(index)

    return router
