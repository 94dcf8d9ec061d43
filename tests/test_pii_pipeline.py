"""The PII rule in the decision pipeline: redaction by locale (English and French),
operators and custom recognizers from the policy YAML, block, failure modes, the re-check,
idempotence, and the audit hook. Real spaCy pipelines (loaded once per process, by path).

Every value below is made up for this file: 555 and reserved numbers, documentation
domains and IP ranges, a Luhn-valid test card.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest

from classifiers.pii_redact import PiiConfig
from guardrail.analysis import Analyzer, PiiService, shared_pii
from guardrail.audit.redact import redact as audit_redact
from guardrail.models import Decision, Kind, OutreachRequest, UserContext
from guardrail.pipeline import Outcome, evaluate
from guardrail.policy.loader import LoadedPolicy, builtin, parse_policy
from guardrail.state.base import Snapshot, Store
from tests.test_rewrite import FakeStore

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
OPEN = """\
name: pii-test
rules:
  user_first: {enabled: false}
  unanswered: {enabled: false}
  engagement: {enabled: false}
  frequency_caps: {enabled: false}
  quiet_hours: {enabled: false}
"""
STRICT = parse_policy(OPEN + "  pii: {operators: {PERSON: replace, CREDIT_CARD: block}}\n")


def run(
    text: str,
    policy: LoadedPolicy = STRICT,
    locale: str | None = "en-US",
    kind: Kind = Kind.PROACTIVE,
    analyzer: Analyzer | None = None,
) -> Decision:
    return outcome(text, policy, locale, kind, analyzer).decision


def outcome(
    text: str,
    policy: LoadedPolicy = STRICT,
    locale: str | None = "en-US",
    kind: Kind = Kind.PROACTIVE,
    analyzer: Analyzer | None = None,
) -> Outcome:
    """The decision with what its audit record gets from the pipeline."""
    wrote = NOW - timedelta(minutes=2)
    store = cast(Store, FakeStore(Snapshot(first_user_message=wrote, user_messages=(wrote,))))
    req = OutreachRequest(bot_id="b", user_id="u", channel="messenger", text=text, kind=kind,
                          user=UserContext(locale=locale))  # fmt: skip
    return asyncio.run(evaluate(store, policy, "t", req, NOW, analyzer or Analyzer()))


def effects(decision: Decision) -> list[tuple[str, str]]:
    return [(r.rule, r.effect) for r in decision.reasons]


@pytest.mark.parametrize(
    ("text", "locale", "values", "placeholders"),
    [
        ("Hi, John Smith here. Call me at (415) 555-0132 tonight.", "en-US",
         ["John Smith", "555-0132"], ["[PERSON]", "[PHONE_NUMBER]"]),
        ("Coucou, c'est Camille Martin ! Appelle-moi au 06 12 34 56 78 ce soir.", "fr-FR",
         ["Camille Martin", "06 12 34 56 78"], ["[PERSON]", "[PHONE_NUMBER]"]),
        ("Écris-moi à camille.martin@example.fr ou au +33 7 12 34 56 78.", "fr-FR",
         ["camille.martin@example.fr", "+33 7 12 34 56 78"], ["[EMAIL_ADDRESS]", "[PHONE_NUMBER]"]),
        ("Le cinéma est au 12 rue des Lilas, 75011 Paris, à 20 h.", "fr-FR",
         ["rue des Lilas"], ["[STREET_ADDRESS]"]),
        ("The server 203.0.113.42 is back up.", "en-US", ["203.0.113.42"], ["[IP_ADDRESS]"]),
    ],
)  # fmt: skip
def test_pii_is_redacted_by_locale(
    text: str, locale: str, values: list[str], placeholders: list[str]
) -> None:
    decision = run(text, locale=locale)
    assert decision.verdict == "rewrite", decision.reasons
    assert decision.text is not None
    for value in values:
        assert value not in decision.text
        assert all(value not in r.detail for r in decision.reasons)  # reasons name types only
    for placeholder in placeholders:
        assert placeholder in decision.text
    assert effects(decision) == [("pii", "rewrite")]
    assert any(key.startswith("pii.") for key in decision.scores)


def test_a_card_number_blocks_and_the_reason_names_the_type_only() -> None:
    decision = run("Your card 4539 1488 0343 6467 was charged, enjoy!")
    assert decision.verdict == "block" and decision.text is None
    (reason,) = decision.reasons
    assert reason.rule == "pii" and "CREDIT_CARD" in reason.detail and "4539" not in reason.detail
    assert reason.labels == ["CREDIT_CARD"]


def test_the_default_operators_keep_names_and_hide_ibans() -> None:
    defaults = parse_policy(OPEN)  # the built-in PII operators, engagement rules off
    decision = run("Hans Zimmer has a new score out!", policy=defaults)
    assert decision.verdict == "allow" and decision.text == "Hans Zimmer has a new score out!"
    assert effects(decision) == [("pii", "info")]
    decision = run("Ton remboursement part sur FR76 3000 6000 0112 3456 7890 189.",
                   policy=defaults, locale="fr-FR")  # fmt: skip
    assert decision.verdict == "rewrite" and decision.text is not None
    # Masked (last 4 kept), or replaced where another recognizer's span overlaps it (the
    # strictest operator of overlapping findings wins): either way the number is gone.
    assert "3000 6000" not in decision.text and "FR76" not in decision.text


def test_operators_and_custom_recognizers_come_from_the_policy_yaml() -> None:
    policy = parse_policy(
        OPEN
        + """\
  pii:
    operators:
      EMAIL_ADDRESS: drop_sentence
      MEMBER_ID: {type: replace, placeholder: "[member]"}
      PROJECT: mask
    custom_recognizers:
      - entity: MEMBER_ID
        patterns: [{regex: 'GR-\\d{6}', score: 0.9}]
      - entity: PROJECT
        deny_list: [Hermès]
"""
    )
    text = "Your member id is GR-123456. Projet Hermès is on. Mail me at a.b@example.com today."
    decision = run(text, policy=policy, locale="fr-FR")
    assert decision.verdict == "rewrite"
    # operators given in full: PERSON is not in them, so the default (replace) applies to the
    # name the French model sees in "Hermès", and the strictest operator of the two wins.
    assert decision.text == "Your member id is [member]. Projet [PROJECT] is on."


def test_rewriting_is_idempotent_and_placeholders_are_not_pii_again() -> None:
    first = run("Hi, John Smith here. Call me at (415) 555-0132 tonight.")
    assert first.verdict == "rewrite" and first.text is not None
    second = run(first.text)
    assert second.verdict == "allow" and second.text == first.text


@pytest.mark.parametrize(
    ("kind", "verdict", "effect"),
    [(Kind.PROACTIVE, "defer", "defer"), (Kind.REPLY, "allow", "info")],
)
def test_pii_down_fails_closed_for_outreach_and_open_for_replies(
    kind: Kind, verdict: str, effect: str
) -> None:
    def broken(config: PiiConfig, lang: str) -> Any:
        raise RuntimeError("spaCy pipeline missing")

    analyzer = Analyzer(pii=PiiService(factory=broken))
    decision = run("Call me at (415) 555-0132.", kind=kind, analyzer=analyzer)
    assert decision.verdict == verdict
    (reason,) = decision.reasons
    assert (reason.rule, reason.effect) == ("pii", effect)
    assert "PII detection unavailable (RuntimeError: spaCy pipeline missing)" in reason.detail


def test_no_analysis_when_no_rule_needs_it_or_the_message_is_refused() -> None:
    built: list[str] = []

    def counting(config: PiiConfig, lang: str) -> Any:
        built.append(lang)
        raise RuntimeError("should not be called")

    analyzer = Analyzer(pii=PiiService(factory=counting))
    off = parse_policy(OPEN + "  pii: {enabled: false}\n")
    assert run("Call me at (415) 555-0132.", policy=off, analyzer=analyzer).verdict == "allow"
    # The built-in policy refuses this one (engagement) before any content rule runs.
    refused = run("Call me at (415) 555-0132.", policy=builtin(), analyzer=analyzer)
    assert refused.verdict == "block" and [r.rule for r in refused.reasons] == ["engagement"]
    assert built == []


def test_the_audit_hook_replaces_every_entity_once_pii_is_loaded() -> None:
    run("warm-up (415) 555-0132")  # make sure the process's PII worker has a pipeline
    assert shared_pii().languages
    text = "Hans Zimmer: call (415) 555-0132."
    stored = asyncio.run(audit_redact(text, tenant="t", bot="b", locale="en-US"))
    assert stored == "[PERSON]: call [PHONE_NUMBER]."


def test_an_unchanged_allow_is_redacted_for_the_audit_from_its_own_findings() -> None:
    keep_names = parse_policy(OPEN + "  pii: {operators: {PERSON: keep}}\n")
    done = outcome("Hans Zimmer wrote that score.", keep_names)
    allowed = done.decision
    assert allowed.verdict == "allow" and allowed.text == "Hans Zimmer wrote that score."
    assert done.audit_text == "[PERSON] wrote that score."  # no second PII pass needed
    # an allow list could hide what the audit must redact: the audit hook runs instead
    listed = parse_policy(OPEN + "  pii: {operators: {PERSON: keep}, allow_list: [Hans]}\n")
    assert outcome("Hans Zimmer wrote that score.", listed).audit_text is None
