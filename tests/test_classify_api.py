"""``POST /v1/classify`` and the gateway's classifier loading (a fake stack; no model runs)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from classifiers.batcher import MicroBatcher
from classifiers.results import (
    DependencyResult,
    ManipulationResult,
    Role,
    SelfHarmResult,
    TextScores,
)
from guardrail.app import create_app
from guardrail.config import Settings
from guardrail.gateway import Gateway
from tests.conftest import API_KEY, AUTH


class FakeStack:
    def __init__(self) -> None:
        self.calls: list[tuple[Role, list[str]]] = []

    def describe(self) -> dict[str, Any]:
        return {"fake": True}

    def classify(self, texts: Sequence[str], role: Role) -> list[TextScores]:
        self.calls.append((role, list(texts)))
        return [
            TextScores(
                self_harm=SelfHarmResult(0.9 if "die" in t else 0.1, "none", "die" in t),
                dependency=DependencyResult(0.2, (), False) if role == "user" else None,
                manipulation=ManipulationResult(0.7, ("fomo_hook",), True)
                if role == "bot"
                else None,
                other={"tox.toxicity": 0.05},
            )
            for t in texts
        ]


@pytest.fixture
def app_client(tmp_path: Path) -> Iterator[tuple[TestClient, FakeStack]]:
    settings = Settings(api_key=API_KEY, db=str(tmp_path / "s.db"), max_text_chars=50)
    with TestClient(create_app(settings)) as client:
        fake = FakeStack()
        gateway: Gateway = client.app.state.gateway  # type: ignore[attr-defined]
        gateway.classifiers = MicroBatcher(fake, max_wait_ms=1)
        gateway.classifiers_state = "ready"
        yield client, fake


def post(client: TestClient, body: Any, headers: dict[str, str] = AUTH) -> Any:
    return client.post("/v1/classify", json=body, headers=headers)


def test_classify_user_and_bot(app_client: tuple[TestClient, FakeStack]) -> None:
    client, fake = app_client
    r = post(client, {"role": "user", "texts": ["I want to die", "hello"]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["role"] == "user"
    first, second = body["results"]
    assert first["self_harm"] == {
        "score": 0.9,
        "severity": "none",
        "flagged": True,
        "imminent": False,
    }
    assert second["self_harm"]["flagged"] is False
    assert first["dependency"] == {"score": 0.2, "signals": [], "flagged": False}
    assert "manipulation" not in first and first["other"] == {"tox.toxicity": 0.05}
    bot = post(client, {"role": "bot", "texts": ["only today!"]}).json()["results"][0]
    assert bot["manipulation"] == {"score": 0.7, "tactics": ["fomo_hook"], "flagged": True}
    assert bot["dependency"] is None and bot["self_harm"]["encourages"] is False
    post(client, {"role": "user", "texts": ["hello"]})  # cached
    assert sum(len(t) for _, t in fake.calls) == 3


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"role": "admin", "texts": ["x"]}, 422),
        ({"role": "user", "texts": []}, 422),
        ({"role": "user"}, 422),
        ({"role": "user", "texts": "not a list"}, 422),
        ({"role": "user", "texts": ["x" * 51]}, 413),
        ({"role": "user", "texts": ["x"] * 257}, 413),
    ],
)
def test_bad_requests(app_client: tuple[TestClient, FakeStack], body: Any, code: int) -> None:
    client, fake = app_client
    r = post(client, body)
    assert r.status_code == code, r.text
    assert r.json()["error"] == {422: "invalid_request", 413: "too_large"}[code]
    assert not fake.calls


def test_needs_an_api_key(app_client: tuple[TestClient, FakeStack]) -> None:
    client, _ = app_client
    assert post(client, {"role": "user", "texts": ["x"]}, headers={}).status_code == 401
    wrong = {"Authorization": "Bearer nope"}
    assert post(client, {"role": "user", "texts": ["x"]}, headers=wrong).status_code == 401


def test_any_key_role_may_classify(tmp_path: Path) -> None:
    settings = Settings(
        db=str(tmp_path / "s.db"),
        keys=[{"name": "aud", "tenant": "t", "role": "auditor", "key": "auditor-key-123456"}],
    )
    with TestClient(create_app(settings)) as client:
        client.app.state.gateway.classifiers = MicroBatcher(FakeStack())  # type: ignore[attr-defined]
        headers = {"Authorization": "Bearer auditor-key-123456"}
        assert post(client, {"role": "bot", "texts": ["x"]}, headers=headers).status_code == 200


def test_503_and_readyz_while_classifiers_are_off(tmp_path: Path) -> None:
    settings = Settings(api_key=API_KEY, db=str(tmp_path / "s.db"))  # conftest: classifiers off
    with TestClient(create_app(settings)) as client:
        r = post(client, {"role": "user", "texts": ["x"]})
        assert r.status_code == 503 and r.json()["detail"] == "classifiers off"
        assert client.get("/readyz").json()["classifiers"] == "off"


def test_loading_in_the_background_then_ready(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from classifiers import stack as stack_module

    release = threading.Event()

    def slow_load(**kwargs: Any) -> FakeStack:
        release.wait(10)
        return FakeStack()

    monkeypatch.setattr(stack_module.ClassifierStack, "load", staticmethod(slow_load))
    settings = Settings(api_key=API_KEY, db=str(tmp_path / "s.db"), classifiers=True)
    with TestClient(create_app(settings)) as client:
        ready = client.get("/readyz")  # answers at once: not ready while the policy's
        assert ready.status_code == 503  # checks load, and says which
        assert ready.json()["classifiers"] == "loading"
        assert "classifiers: loading" in ready.json()["missing"]
        assert post(client, {"role": "user", "texts": ["x"]}).status_code == 503
        release.set()
        for _ in range(200):
            if client.get("/readyz").json()["classifiers"] == "ready":
                break
            time.sleep(0.01)
        assert client.get("/readyz").json()["classifiers"] == "ready"
        assert post(client, {"role": "user", "texts": ["x"]}).status_code == 200


def test_a_failed_load_is_shown_not_raised(tmp_path: Path) -> None:
    config = tmp_path / "backends.yaml"
    config.write_text("- {name: x, type: nope}\n", encoding="utf-8")
    settings = Settings(
        api_key=API_KEY, db=str(tmp_path / "s.db"), classifiers=True, classifiers_config=config
    )
    with TestClient(create_app(settings)) as client:
        for _ in range(500):
            state = client.get("/readyz").json()["classifiers"]
            if state != "loading":
                break
            time.sleep(0.01)
        assert state == "failed: BackendError"  # the message, with its paths, is logged
        ready = client.get("/readyz")  # the default policy's checks read the stack
        assert ready.status_code == 503
        assert "classifiers: failed: BackendError" in ready.json()["missing"]
        r = post(client, {"role": "user", "texts": ["x"]})
        assert r.status_code == 503 and r.json()["detail"] == "classifiers failed: BackendError"
