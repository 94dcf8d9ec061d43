"""Opt-out wording scoped per tenant and channel: each enforcing policy's words apply only
where that policy could decide, the fallback's elsewhere."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from guardrail.consent import DEFAULT_STOP_PHRASES, ConsentDetector
from guardrail.models import Channel
from guardrail.policy.policyset import PolicySet, load_policy_set
from tests.conftest import Clock
from tests.test_api import MakeClient, Uid, say

PACKS = Path(__file__).resolve().parent.parent / "policies"


def opts_out(detector: ConsentDetector, text: str) -> bool:
    signal = detector.detect(text, currently_opted_out=False)
    return signal is not None and signal.action == "opt_out"


@pytest.fixture(scope="module")
def packs() -> PolicySet:
    return load_policy_set(PACKS)


def test_tcpa_words_only_on_sms(packs: PolicySet) -> None:
    sms = packs.detector_for("acme", "maestro", Channel.SMS)
    telegram = packs.detector_for("globex", "pal", Channel.TELEGRAM)
    assert opts_out(sms, "no mas") and opts_out(sms, "ya no quiero mensajes")
    assert not opts_out(telegram, "no mas")
    assert not opts_out(telegram, "ya no quiero mensajes")
    for detector in (sms, telegram):  # the carrier keywords hold everywhere
        assert opts_out(detector, "STOP") and opts_out(detector, "arrêt")


def test_remove_me_from_the_photo_opts_out_nowhere(packs: PolicySet) -> None:
    for channel in (*Channel, None):
        detector = packs.detector_for("acme", "maestro", channel)
        assert not opts_out(detector, "remove me from the photo lol"), channel
        assert opts_out(detector, "remove me"), channel


def test_whatsapp_button_text_only_on_whatsapp(packs: PolicySet) -> None:
    assert opts_out(packs.detector_for("acme", "b", Channel.WHATSAPP), "Stop promotions")
    assert not opts_out(packs.detector_for("acme", "b", Channel.TELEGRAM), "Stop promotions")


def test_an_event_without_channel_gets_every_policy_that_could_decide(packs: PolicySet) -> None:
    detector = packs.detector_for("acme", "b", None)
    assert opts_out(detector, "no mas") and opts_out(detector, "stop promotions")


def test_tenant_policy_words_apply_to_that_tenant_only(tmp_path: Path) -> None:
    (tmp_path / "default.yaml").write_text("name: default\n", encoding="utf-8")
    (tmp_path / "acme.yaml").write_text(
        "name: acme\nextends: default\nmatch: {tenants: [acme]}\n"
        "consent:\n  stop: [stop, basta]\n  start: [start, vamos]\n",
        encoding="utf-8",
    )
    policies = load_policy_set(tmp_path)
    acme = policies.detector_for("acme", "b", Channel.TELEGRAM)
    other = policies.detector_for("globex", "b", Channel.TELEGRAM)
    assert opts_out(acme, "BASTA") and not opts_out(other, "BASTA")
    # acme pins nothing else, so the fallback never decides acme's events: its words are
    # acme's own ("unstop" does not re-opt in there, "vamos" does)
    assert acme.detect("unstop", currently_opted_out=True) is None
    assert other.detect("unstop", currently_opted_out=True) is not None
    assert acme.detect("vamos", currently_opted_out=True) is not None
    assert acme is policies.detector_for("acme", "other-bot", Channel.SMS)  # compiled once


def test_shadow_policies_never_change_consent(tmp_path: Path) -> None:
    (tmp_path / "default.yaml").write_text("name: default\n", encoding="utf-8")
    (tmp_path / "trial.yaml").write_text(
        "name: trial\nextends: default\nmode: shadow\nmatch: {channels: [sms]}\n"
        "consent:\n  stop: [stop, basta]\n",
        encoding="utf-8",
    )
    detector = load_policy_set(tmp_path).detector_for("t", "b", Channel.SMS)
    assert not opts_out(detector, "basta") and opts_out(detector, "stop")


def test_packs_keep_the_default_phrases(packs: PolicySet) -> None:
    """The TCPA pack lists its phrases in full (lists replace in `extends`): keep the
    defaults in it so a fix to them reaches US texts too."""
    tcpa = packs.named("tcpa")
    assert tcpa is not None
    assert tcpa.policy.consent.stop_phrases[: len(DEFAULT_STOP_PHRASES)] == DEFAULT_STOP_PHRASES


def test_events_use_the_scoped_words(make_client: MakeClient, clock: Clock, uid: Uid) -> None:
    client: TestClient = make_client(policy=PACKS)
    bot, user = uid("maestro"), uid("+12125550123")
    when = clock() - timedelta(hours=1)
    chat = say(client, bot, user, "no mas", when, channel="telegram")
    assert chat["consent"] is None
    text = say(client, bot, user, "no mas", when + timedelta(minutes=1), channel="sms")
    assert text["consent"] == "opted_out"


def test_blunt_wording_and_start_phrases_are_scoped_too(tmp_path: Path) -> None:
    (tmp_path / "default.yaml").write_text("name: default\n", encoding="utf-8")
    (tmp_path / "acme.yaml").write_text(
        "name: acme\nextends: default\nmatch: {tenants: [acme], channels: [sms]}\n"
        "consent:\n  blunt: [vete]\n  start_phrases: ['^vuelve a escribirme$']\n",
        encoding="utf-8",
    )
    policies = load_policy_set(tmp_path)
    sms = policies.detector_for("acme", "b", Channel.SMS)  # acme always decides: its words
    assert opts_out(sms, "vete") and not opts_out(sms, "go away")
    back = sms.detect("vuelve a escribirme", currently_opted_out=True)
    assert back is not None and back.action == "opt_in"
    other = policies.detector_for("globex", "b", Channel.SMS)
    assert not opts_out(other, "vete") and opts_out(other, "go away")
    assert other.detect("vuelve a escribirme", currently_opted_out=True) is None
    # An event without a channel may be acme's SMS or not: both lists; STOP of any,
    # start phrases only where both list them.
    either = policies.detector_for("acme", "b", None)
    assert opts_out(either, "vete") and opts_out(either, "go away")
    assert either.detect("vuelve a escribirme", currently_opted_out=True) is None
