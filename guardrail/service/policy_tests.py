"""Run policy test files (``guardrail policy test``) through the real decision code.

Each case gets a fresh in-memory SQLite store. User messages and opt-outs go through
:func:`guardrail.service.ingest.ingest` (so "STOP" is detected as in production, and a
message that gives a minor away marks the user a likely minor) and earlier outreach through
the same decision call as live traffic, at its own time, so an allowed one is committed by
the store exactly as a live one would be. Each request is decided with the user record in
place of the request's claims, as the gateway does (:mod:`guardrail.service.profile`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from guardrail.analysis import Analyze, Analyzer
from guardrail.models import Decision, Event, EventType, OutreachRequest, UserContext
from guardrail.pipeline import refuse_unknown
from guardrail.policy.cases import Case, CaseRequest, Defaults, HistoryItem, load_cases
from guardrail.policy.core import LoadedPolicy, PolicyError
from guardrail.policy.policyset import PolicySet, load_policy_set
from guardrail.policy.resolve import POLICY_SUFFIXES
from guardrail.problems import Problem
from guardrail.risk import LexiconAssessor
from guardrail.service.ingest import ingest
from guardrail.service.profile import choose_strictest, effective, news
from guardrail.service.shadow import decide_with_shadows
from guardrail.state.sqlite import SQLiteStore

ENFORCING = ("block", "defer", "rewrite")


@dataclass(frozen=True)
class CaseResult:
    file: str
    line: int
    name: str
    passed: bool
    diff: tuple[str, ...] = ()
    """``- expected`` / ``+ actual`` lines, and notes on what happened."""


@dataclass
class PolicyTestReport:
    results: list[CaseResult] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    """Test files or policies that could not be loaded (their cases did not run)."""

    @property
    def passed(self) -> int:
        return sum(r.passed for r in self.results)

    @property
    def failed(self) -> int:
        return len(self.results) - self.passed

    @property
    def ok(self) -> bool:
        return not self.problems and self.failed == 0 and bool(self.results)

    def lines(self) -> list[str]:
        """The report as printed: problems, each case PASS/FAIL with its diff, a summary."""
        out = [str(p) for p in self.problems]
        for r in self.results:
            out.append(f"{'PASS' if r.passed else 'FAIL'} {r.file}:{r.line}: {r.name}")
            out += [f"    {line}" for line in r.diff]
        summary = f"{self.passed} passed, {self.failed} failed"
        if self.problems:
            summary += f", {len(self.problems)} problem(s) loading tests"
        return [*out, summary]


def find_test_files(path: Path) -> list[Path]:
    """A test file itself; for a folder, its ``tests/*.yaml`` (or its own, if it is ``tests``)."""
    if not path.is_dir():
        return [path]
    folder = path / "tests" if (path / "tests").is_dir() else path
    return sorted(p for p in folder.iterdir() if p.suffix in POLICY_SUFFIXES)


def run_policy_tests(paths: Sequence[str | Path]) -> PolicyTestReport:
    return asyncio.run(arun_policy_tests(paths))


async def arun_policy_tests(paths: Sequence[str | Path]) -> PolicyTestReport:
    report = PolicyTestReport()
    sets: dict[Path, PolicySet | PolicyError] = {}
    for path in map(Path, paths):
        files = find_test_files(path)
        if not files:
            report.problems.append(
                Problem(str(path), 1, 1, "no policy tests here (write them in tests/*.yaml)")
            )
        for file in files:
            await _run_file(file, report, sets)
    return report


async def _run_file(
    file: Path, report: PolicyTestReport, sets: dict[Path, PolicySet | PolicyError]
) -> None:
    try:
        loaded = load_cases(file)
    except PolicyError as exc:
        report.problems += exc.problems
        return
    if loaded.policies not in sets:
        try:
            sets[loaded.policies] = load_policy_set(loaded.policies)
        except PolicyError as exc:
            sets[loaded.policies] = exc
    policies = sets[loaded.policies]
    if isinstance(policies, PolicyError):
        report.problems += policies.problems
        return
    analyzer = classifier_analyzer() if loaded.cases.classifiers else None
    for case, line in zip(loaded.cases.cases, loaded.lines, strict=True):
        diff = await run_case(policies, loaded.cases.defaults, case, analyzer)
        report.results.append(CaseResult(loaded.source, line, case.name, not diff, tuple(diff)))


@cache
def classifier_analyzer() -> Analyzer:
    """The content analysis with the shipped classifier stack, loaded once per process."""
    from classifiers.stack import ClassifierStack

    return Analyzer(classifiers=ClassifierStack.load())


async def run_case(
    policies: PolicySet, defaults: Defaults, case: Case, analyzer: Analyze | None = None
) -> list[str]:
    """One case on a fresh store; the differences from what it expects (empty: it passed).
    ``analyzer``: the content analysis to decide with (default: PII only, no classifiers)."""
    forced = policies.named(case.policy) if case.policy else None
    if case.policy and forced is None:
        return [f"no policy named {case.policy!r} in {policies.source}"]
    store = SQLiteStore(":memory:")
    try:
        for i, item in enumerate(case.history):
            problem = await _replay(store, policies, forced, defaults, item, analyzer)
            if problem:
                return [f"history[{i}] at {item.at.isoformat()}: {problem[0]}", *problem[1:]]
        req, tenant = _request(defaults, case.request)
        decision = await _decide(store, policies, forced, tenant, req, case.request.at, analyzer)
    except (ValidationError, ValueError) as exc:
        return [f"error: {exc}"]
    finally:
        await store.close()
    return compare(case, decision)


async def _replay(
    store: SQLiteStore,
    policies: PolicySet,
    forced: LoadedPolicy | None,
    defaults: Defaults,
    item: HistoryItem,
    analyzer: Analyze | None,
) -> list[str]:
    bot = item.bot_id or defaults.bot_id
    if item.outreach is not None:
        fields = CaseRequest(
            at=item.at,
            text=item.outreach,
            kind=item.kind,
            bot_id=bot,
            channel=item.channel,
            user=item.user,
        )
        req, tenant = _request(defaults, fields)
        decision = await _decide(store, policies, forced, tenant, req, item.at, analyzer)
        if decision.verdict is item.expect:
            return []
        got, want = decision.verdict.value, item.expect.value
        return [f"outreach got {got}, expected {want} (set `expect:`)", *_reasons(decision)]
    if item.follow_ups is not None:
        wanted = item.follow_ups
        await store.set_follow_ups(defaults.tenant, bot, defaults.user_id, wanted.categories,
                                   wanted.allowed, item.at, "ingest")  # fmt: skip
        return []
    if item.user_message is not None:
        event = Event(
            type=EventType.USER_MESSAGE,
            bot_id=bot,
            user_id=defaults.user_id,
            ts=item.at,
            text=item.user_message,
            channel=item.channel or defaults.channel,
        )
    else:
        opted_out = item.opt_out is not None
        event = Event(
            type=EventType.OPT_OUT if opted_out else EventType.OPT_IN,
            bot_id=bot,
            user_id=defaults.user_id,
            ts=item.at,
            scope=item.opt_out or item.opt_in or "bot",
        )
    # The gateway's default assessor, so crisis language in a history counts as it would live.
    detector = policies.detector_for(defaults.tenant, bot, event.channel)
    await ingest(store, detector, defaults.tenant, event, assessor=_assessor())
    return []


@cache
def _assessor() -> LexiconAssessor:
    return LexiconAssessor()


async def _decide(
    store: SQLiteStore,
    policies: PolicySet,
    forced: LoadedPolicy | None,
    tenant: str,
    req: OutreachRequest,
    now: datetime,
    analyzer: Analyze | None,
) -> Decision:
    profile = await store.user_profile(tenant, req.user_id)
    if news(profile, req.user):
        await store.remember_user(
            tenant, req.user_id, req.user.jurisdiction, req.user.is_minor, "bot"
        )
    user, _, others = effective(profile, req.user)
    req = req.model_copy(update={"user": user})
    if forced is not None:
        return await decide_with_shadows(store, forced, tenant, req, now, analyzer=analyzer)
    chosen, _ = choose_strictest(policies, tenant, req, others)  # unknown_user as live
    if chosen.missing:
        return refuse_unknown(chosen.loaded, chosen.request, now, chosen.missing)
    return await decide_with_shadows(
        store, chosen.loaded, tenant, chosen.request, now, analyzer=analyzer
    )


def _request(defaults: Defaults, given: CaseRequest) -> tuple[OutreachRequest, str]:
    user = {
        **defaults.user.model_dump(exclude_none=True),
        **(given.user.model_dump(exclude_unset=True) if given.user else {}),
    }
    req = OutreachRequest(
        bot_id=given.bot_id or defaults.bot_id,
        user_id=given.user_id or defaults.user_id,
        channel=given.channel or defaults.channel,
        text=given.text or defaults.text,
        kind=given.kind,
        user=UserContext.model_validate(user),
        idempotency_key=given.idempotency_key,
    )
    return req, given.tenant or defaults.tenant


def compare(case: Case, decision: Decision) -> list[str]:
    """``- expected`` / ``+ actual`` for each expected field that differs; [] when all match."""
    want = case.expect
    pairs: list[tuple[str, Any, Any]] = [("verdict", want.verdict.value, decision.verdict.value)]
    if want.rules is not None:
        got = [r.rule for r in decision.reasons if r.effect in ENFORCING]
        pairs.append(("rules", want.rules, got))
    if want.shadow is not None:
        got = [r.rule for r in decision.reasons if r.effect == "shadow"]
        pairs.append(("shadow", want.shadow, got))
    if want.info is not None:
        got = [r.rule for r in decision.reasons if r.effect == "info"]
        pairs.append(("info", want.info, got))
    if want.text is not None:
        pairs.append(("text", want.text, decision.text))
    if want.policy is not None:
        pairs.append(("policy", want.policy, decision.policy))
    if want.retry_after is not None:
        got_at = decision.retry_after
        shown = got_at.astimezone(want.retry_after.tzinfo).isoformat() if got_at else None
        expected = want.retry_after.isoformat()
        pairs.append(("retry_after", expected, expected if got_at == want.retry_after else shown))
    if all(expected == actual for _, expected, actual in pairs):
        return []
    lines = []
    for key, expected, actual in pairs:
        if expected == actual:
            lines.append(f"  {key}: {_show(expected)}")
        else:
            lines += [f"- {key}: {_show(expected)}", f"+ {key}: {_show(actual)}"]
    return [*lines, *_reasons(decision)]


def _reasons(decision: Decision) -> list[str]:
    found = [f"  {r.effect} {r.rule}: {r.detail}" for r in decision.reasons]
    return [f"(decided by {decision.policy}; reasons:)", *found] if found else []


def _show(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return "null" if value is None else str(value)
