"""``benchmarks/floor_quality.py --set``: a frozen held-out file is labelled held-out, a
retired one development, so a report never calls an honest read "tuned on" (or the reverse)."""

from __future__ import annotations

from pathlib import Path

from benchmarks.floor_quality import HELDOUT, set_kind

ROOT = Path(__file__).resolve().parent.parent


def test_a_frozen_set_is_held_out_and_a_retired_one_development() -> None:
    assert set_kind(HELDOUT) == "held-out, frozen, not tuned on"
    frozen = ROOT / "benchmarks" / "heldout" / "acute_crisis_v12.yaml"
    assert set_kind(frozen).startswith("held-out")
    retired = ROOT / "benchmarks" / "dev" / "encouragement_adversarial_v1.yaml"
    assert set_kind(retired) == "development, tuned on"
