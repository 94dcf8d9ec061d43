"""Opt-out detection measured on the labelled corpus (synthetic, English and French).

Bars: no false opt-out at all (hard negatives included), at most 5 % missed opt-outs per
language, every STOPALL taken for every bot, every re-opt-in found. The held-out set,
written after the detector and never used to change it, keeps its false opt-outs at 0 and
its misses under the figure measured when it was written (see the README).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from guardrail.consent import ConsentDetector, ConsentWords
from guardrail.policy.loader import builtin

ROOT = Path(__file__).resolve().parent.parent


def _benchmark() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "optout_quality", ROOT / "benchmarks" / "optout_quality.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


bench = _benchmark()


def test_corpus_is_marked_synthetic_and_large_enough() -> None:
    rows = bench.load(ROOT / "tests" / "data" / "optout_corpus.yaml")
    assert len(rows) >= 200
    per_lang = {lang: sum(1 for r in rows if r[0] == lang) for lang in ("en", "fr")}
    assert min(per_lang.values()) >= 0.4 * len(rows), per_lang
    assert sum(1 for r in rows if r[1] == "neg") >= 80


@pytest.mark.parametrize(
    "words",
    [ConsentWords(), builtin().policy.consent],
    ids=["defaults", "builtin-policy"],
)
def test_corpus_figures(words: ConsentWords) -> None:
    figures = bench.measure(ConsentDetector(words), bench.load(bench.DEFAULT_DATA))
    print(bench.report(figures))
    assert set(figures) == {"en", "fr"}
    for lang, fig in figures.items():
        assert fig.false_out_hard == [], lang
        assert fig.false_out == [], lang
        assert fig.missed_rate() <= 0.05, (lang, fig.missed)
        assert fig.wrong_scope == [], lang
        assert fig.missed_in == [] and fig.false_in == [], lang


def test_holdout_figures() -> None:
    """Both languages are measured, on enough messages for the bars to mean something: an
    empty or one-language file fails instead of passing with nothing checked."""
    rows = bench.load(ROOT / "tests" / "data" / "optout_holdout.yaml")
    figures = bench.measure(ConsentDetector(ConsentWords()), rows)
    assert set(figures) == {"en", "fr"}
    for lang, fig in figures.items():
        assert fig.opt_outs >= 10 and fig.count["neg"] >= 10, (lang, fig.count)
        assert fig.false_out == [], lang
        assert fig.missed_rate() <= 0.45, (lang, fig.missed)


def test_development_set_v2() -> None:
    """Our own development sentences for the v2 forms (obfuscated, blunt, polite, indirect),
    explicit opt-ins and generic affirmatives; the rules were tuned on these."""
    items = bench.load_items(ROOT / "tests" / "data" / "optout_dev_v2.yaml")
    for words in (ConsentWords(), builtin().policy.consent):
        figures = bench.measure_v2(ConsentDetector(words), items)
        print(bench.report_v2(figures, show=True))
        assert set(figures) == {"en", "fr"}
        for lang, fig in figures.items():
            assert fig.missed == {} and fig.false_out == {}, lang
            assert fig.yes_resubscribed == [] and fig.choice_resubscribed == [], lang
            assert fig.opt_in_missed == [], lang


HELDOUT_V2 = ROOT / "benchmarks" / "heldout" / "optout_v2.yaml"
MEASURED_V2_MISSED = {"en": 13, "fr": 9}
"""Missed opt-outs on the frozen held-out set when the v2 rules were finished (of 65 EN and
64 FR; before them: 36 and 31). Measured once, never tuned on: a guard against regressions."""


def test_heldout_v2_figures() -> None:
    figures = bench.measure_v2(ConsentDetector(ConsentWords()), bench.load_items(HELDOUT_V2))
    for lang, fig in figures.items():
        assert fig.false_out == {}, lang  # no false opt-out: negatives, chat, opt-ins, yes
        assert fig.yes_resubscribed == [] and fig.choice_resubscribed == [], lang
        assert fig.missed_total() <= MEASURED_V2_MISSED[lang], lang
