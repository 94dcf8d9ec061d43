"""Skips are declared: in CI, a skip not listed in ``tests/allowed_skips.txt`` fails the run.

A skipped test looks green in a summary that nobody reads, and a skip caused by a broken
set-up (no Redis binary, a head that does not load, a refused database login) hides exactly
what the test is for. So every skip is collected, and when the ``CI`` environment variable
is set (``.ci/run`` sets it), the session fails, after the normal report, listing each skip
that no line of the allowed list matches. Locally, run ``CI=1 make test`` to check the same.

Each line of the allowed list is ``<test id pattern> | <reason>``: the pattern is an
``fnmatch`` glob over the test's node id, and the reason is required (say why a CI machine
may skip it). ``#`` starts a comment. ``GUARDRAIL_ALLOWED_SKIPS`` names another file.
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

ALLOWED = Path(__file__).resolve().parent / "allowed_skips.txt"
FILE_ENV = "GUARDRAIL_ALLOWED_SKIPS"


@dataclass(frozen=True)
class Allowed:
    pattern: str
    reason: str


def enforced() -> bool:
    """Whether this run fails on unexpected skips: in CI (``CI`` set, not false or 0)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def load_allowed(path: Path) -> list[Allowed]:
    """The allowed skips; a malformed line is an error (never silently allow-all)."""
    allowed = []
    for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        pattern, sep, reason = (part.strip() for part in line.partition("|"))
        if not sep or not pattern or not reason:
            raise pytest.UsageError(f"{path}:{n}: expected '<test id pattern> | <reason>'")
        allowed.append(Allowed(pattern, reason))
    return allowed


def unexpected(skips: list[tuple[str, str]], allowed: list[Allowed]) -> list[tuple[str, str]]:
    """The (node id, reason) skips that no allowed pattern matches."""
    return [
        (nodeid, why)
        for nodeid, why in skips
        if not any(fnmatch.fnmatchcase(nodeid, a.pattern) for a in allowed)
    ]


def _reason(report: pytest.CollectReport | pytest.TestReport) -> str:
    longrepr = report.longrepr
    return str(longrepr[2]) if isinstance(longrepr, tuple) else str(longrepr)


class SkipPolicy:
    """Collects skips (of tests, and of whole modules at collection) and judges them."""

    def __init__(self) -> None:
        self.skips: list[tuple[str, str]] = []
        self.unexpected: list[tuple[str, str]] = []

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.skipped:
            self.skips.append((report.nodeid, _reason(report)))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.skipped and not hasattr(report, "wasxfail"):
            self.skips.append((report.nodeid, _reason(report)))

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if not enforced():
            return
        path = Path(os.environ.get(FILE_ENV) or ALLOWED)
        self.unexpected = unexpected(self.skips, load_allowed(path))
        quiet = (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED)
        if self.unexpected and session.exitstatus in quiet:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if not self.unexpected:
            return
        title = "skips not in tests/allowed_skips.txt (CI fails on them)"
        terminalreporter.section(title, red=True)
        for nodeid, why in self.unexpected:
            terminalreporter.write_line(f"SKIPPED {nodeid}: {why}", red=True)


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(SkipPolicy(), "guardrail-skip-policy")
