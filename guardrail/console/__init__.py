"""The auditors' web console at ``/console``: three static files, no build step.

The page is plain HTML, CSS and JavaScript served from this package; it loads nothing
from anywhere else (the Content-Security-Policy below forbids it) and talks only to the
gateway's own ``/v1/audit`` JSON API with the auditor key the user pastes in.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from fastapi import APIRouter, HTTPException, Response, status

STATIC = Path(__file__).parent / "static"

_TYPES = {
    "index.html": "text/html; charset=utf-8",
    "console.css": "text/css; charset=utf-8",
    "console.js": "text/javascript; charset=utf-8",
}

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}

router = APIRouter(include_in_schema=False)


@cache
def _read(name: str) -> bytes:
    return (STATIC / name).read_bytes()


def _file(name: str) -> Response:
    media = _TYPES.get(name)
    if media is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no console file {name!r}")
    return Response(_read(name), media_type=media, headers=_HEADERS)


@router.get("/console")
@router.get("/console/")
async def index() -> Response:
    return _file("index.html")


@router.get("/console/{name}")
async def static_file(name: str) -> Response:
    return _file(name)
