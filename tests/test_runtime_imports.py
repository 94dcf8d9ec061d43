"""The serving gateway with the shipped (numpy) encoder never imports torch nor the
training-only libraries: they cost each worker about a second and 235 MB for nothing. The
PII detector's spaCy and Presidio would import torch and transformers on their own
(``classifiers.torchless`` refuses them those imports); the gateway waits for its PII
warm-up here, so that path is covered."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PROBE = """
import json, sys, time
from fastapi.testclient import TestClient
from guardrail.app import create_app
from guardrail.config import Settings
settings = Settings(db=sys.argv[1], api_key="k" * 20, classifiers=False)
with TestClient(create_app(settings, policy_poll_s=None)) as client:
    for _ in range(1200):  # the PII warm-up (spaCy, Presidio) runs in the background
        if client.get("/readyz").json()["pii"] != "loading":
            break
        time.sleep(0.1)
    assert client.get("/readyz").json()["pii"] == "ready"
from classifiers.stack import ClassifierStack
stack = ClassifierStack.load()
stack.classify(["hello there", "bonjour"], "bot")
loaded = set(sys.modules)
heavy = ("torch", "transformers", "sklearn", "scipy", "matplotlib")  # tqdm: spaCy's own
import torch  # whoever asks for torch outside spaCy and Presidio still gets it
assert torch.zeros(1).shape == (1,)
print(json.dumps([m for m in heavy if m in loaded]))
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
