"""``/docs`` and ``/redoc`` work on a machine with no internet: every asset they load is
served by the gateway itself."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from guardrail.app import create_app
from guardrail.config import Settings

URL = re.compile(r"""(?:src|href)=["']([^"']+)["']|url:\s*['"]([^'"]+)['"]""")


def test_docs_pages_load_nothing_from_elsewhere(tmp_path: Path) -> None:
    settings = Settings(db=str(tmp_path / "state.db"), classifiers=False)
    with TestClient(create_app(settings, policy_poll_s=None)) as client:
        check_pages(client)


def check_pages(client: TestClient) -> None:
    for page in ("/docs", "/redoc"):
        response = client.get(page)
        assert response.status_code == 200
        links = [a or b for a, b in URL.findall(response.text)]
        assert links, page
        assert not re.search(r"https?://", response.text), page  # no CDN, no fonts
        for link in links:
            assert link.startswith("/"), link
            assert client.get(link).status_code == 200, link
