"""The serving gateway with the shipped (numpy) encoder never imports torch nor the
training-only libraries: they cost each worker about a second and 235 MB for nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PROBE = """
import json, sys
from fastapi.testclient import TestClient
from guardrail.app import create_app
from guardrail.config import Settings
settings = Settings(db=sys.argv[1], api_key="k" * 20, classifiers=False)
with TestClient(create_app(settings, policy_poll_s=None)) as client:
    client.get("/readyz")
from classifiers.stack import ClassifierStack
stack = ClassifierStack.load()
stack.classify(["hello there", "bonjour"], "bot")
heavy = ("torch", "transformers", "sklearn", "scipy", "tqdm", "matplotlib")
print(json.dumps([m for m in heavy if m in sys.modules]))
"""


def test_serving_imports_no_torch_and_no_training_libraries(tmp_path: Path) -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    env.pop("GUARDRAIL_ENCODER", None)  # the shipped default (USE, numpy)
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path / "state.db")],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=True,
    )
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
