"""PII stage: detection (EN/FR), operators, configured recognizers, locale choice, offline.

Every example below is written for this file (synthetic; no dataset text). The spaCy
pipelines load once for the module.
"""

from __future__ import annotations

import socket
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import ValidationError

from classifiers.pii import (
    PIPELINE_PACKAGES,
    CustomRecognizerConfig,
    PiiConfig,
    PiiDetector,
    PiiFinding,
    PiiOperator,
    language_for_locale,
    load_pipeline,
    pipeline_path,
    redact,
    sentence_spans,
)
from classifiers.pii_recognizers import luhn_valid


@pytest.fixture(scope="module")
def detector() -> PiiDetector:
    return PiiDetector()


def found(detector: PiiDetector, text: str, locale: str | None = None) -> dict[str, list[str]]:
    """entity type -> the matched substrings."""
    out: dict[str, list[str]] = {}
    for f in detector.analyze(text, locale):
        out.setdefault(f.entity_type, []).append(text[f.start : f.end])
    return out


# --------------------------------------------------------------------------- detection, EN


@pytest.mark.parametrize(
    ("text", "entity", "value"),
    [
        ("Write to me at ana.lopez@mailbox.example.com tonight", "EMAIL_ADDRESS",
         "ana.lopez@mailbox.example.com"),
        ("You can call me at (415) 555-0132 after six", "PHONE_NUMBER", "(415) 555-0132"),
        ("My cell is +1 415 555 0132.", "PHONE_NUMBER", "+1 415 555 0132"),
        ("Charge it to 4539 1488 0343 6467 please", "CREDIT_CARD", "4539 1488 0343 6467"),
        ("card: 5425-2334-3010-9903", "CREDIT_CARD", "5425-2334-3010-9903"),
        ("Send it to FR76 3000 6000 0112 3456 7890 189 today", "IBAN_CODE",
         "FR76 3000 6000 0112 3456 7890 189"),
        ("The server at 203.0.113.42 keeps failing", "IP_ADDRESS", "203.0.113.42"),
        ("and 2001:db8::8a2e:370:7334 for v6", "IP_ADDRESS", "2001:db8::8a2e:370:7334"),
        ("Come by 1600 Pennsylvania Avenue NW, Washington, DC 20500 at noon", "STREET_ADDRESS",
         "1600 Pennsylvania Avenue NW, Washington, DC 20500"),
        ("I moved to 42 Elm Street, Apt 3B last week", "STREET_ADDRESS", "42 Elm Street, Apt 3B"),
        ("Say hi to John Smith from me", "PERSON", "John Smith"),
    ],
)  # fmt: skip
def test_english_entities(detector: PiiDetector, text: str, entity: str, value: str) -> None:
    assert value in found(detector, text, "en-US").get(entity, [])


# --------------------------------------------------------------------------- detection, FR


@pytest.mark.parametrize(
    ("text", "entity", "value"),
    [
        ("Appelle-moi au +33 6 12 34 56 78 ce soir", "PHONE_NUMBER", "+33 6 12 34 56 78"),
        ("Mon portable : 06 12 34 56 78", "PHONE_NUMBER", "06 12 34 56 78"),
        ("Le fixe c'est le 01.42.68.53.00", "PHONE_NUMBER", "01.42.68.53.00"),
        ("Écris-moi à lea.martin@courriel.example.fr", "EMAIL_ADDRESS",
         "lea.martin@courriel.example.fr"),
        ("Mon RIB : FR76 3000 6000 0112 3456 7890 189", "IBAN_CODE",
         "FR76 3000 6000 0112 3456 7890 189"),
        ("J'habite au 12 rue de la Paix, 75002 Paris depuis mai", "STREET_ADDRESS",
         "12 rue de la Paix, 75002 Paris"),
        ("Rendez-vous 8 bis avenue des Champs-Élysées et on verra", "STREET_ADDRESS",
         "8 bis avenue des Champs-Élysées"),
        ("Je m'appelle Marie Dupont et j'aime le cinéma", "PERSON", "Marie Dupont"),
    ],
)  # fmt: skip
def test_french_entities(detector: PiiDetector, text: str, entity: str, value: str) -> None:
    assert value in found(detector, text, "fr-FR").get(entity, [])


@pytest.mark.parametrize(
    ("text", "locale"),
    [
        ("I walked 5 blocks down the road to the station.", "en"),
        ("Call me tomorrow at 5, the movie starts at 20:30.", "en"),
        ("Version 3.12.1 shipped on 2024-11-25 with 1 250 000 downloads.", "en"),
        ("Le film dure 2 h 15 et coûte 12,50 €, séance le 2024-03-12.", "fr"),
        ("His social security number is 078-05-1120", "en"),
    ],
)
def test_no_false_phone_or_address(detector: PiiDetector, text: str, locale: str) -> None:
    kinds = found(detector, text, locale)
    assert "PHONE_NUMBER" not in kinds
    assert "STREET_ADDRESS" not in kinds
    assert "CREDIT_CARD" not in kinds


@pytest.mark.parametrize(
    ("text", "locale", "value"),
    [
        ("Send it to 221 Baker Street, Apt 4B please", "en", "221 Baker Street, Apt 4B"),
        ("She lives on Maple Avenue now", "en", "Maple Avenue"),
        ("Meet me at the corner of 5th Avenue and Broadway", "en",
         "the corner of 5th Avenue and Broadway"),
        ("My address is Søndergade 52", "en", "Søndergade 52"),
        ("We stayed at Via delle Coste 41 last summer", "en", "Via delle Coste 41"),
        ("Mail it to P.O. Box 101 thanks", "en", "P.O. Box 101"),
        ("PSC 4574, Box 8393\nAPO AA 81998", "en", "PSC 4574, Box 8393\nAPO AA 81998"),
        ("My zip code is 62704", "en", "62704"),
        ("The key is under the mat, Apt. 12", "en", "Apt. 12"),
        ("J'habite rue de la Paix depuis mai", "fr", "rue de la Paix"),
        ("Livraison au 3 impasse des Lilas, appt 12", "fr", "3 impasse des Lilas, appt 12"),
        ("Mon adresse : 5 allée Verte, code postal 69003 Lyon", "fr",
         "5 allée Verte, code postal 69003 Lyon"),
    ],
)  # fmt: skip
def test_street_addresses(detector: PiiDetector, text: str, locale: str, value: str) -> None:
    assert value in found(detector, text, locale).get("STREET_ADDRESS", [])


@pytest.mark.parametrize(
    ("text", "locale"),
    [
        ("Let's take a walk down memory lane together", "en"),
        ("Let's take a walk down Memory Lane together", "en"),
        ("That song takes me down Memory Lane every time.", "en"),
        ("During 1971, Valentine-Murray invested heavily in radio", "en"),
        ("I watched Apollo 13 and read Chapter 11 yesterday", "en"),
        ("Windows 10 keeps crashing on my laptop", "en"),
        ("The 5 Musicians Of The 70s you forgot", "en"),
        ("Main Street is where I grew up, Elm Street scares me", "en"),
        ("Je suis dans la rue avec des amis", "fr"),
        ("On prend la route demain matin", "fr"),
        ("Elle a 75002 abonnés sur son compte", "fr"),
    ],
)
def test_not_addresses(detector: PiiDetector, text: str, locale: str) -> None:
    assert "STREET_ADDRESS" not in found(detector, text, locale)


def test_card_needs_luhn(detector: PiiDetector) -> None:
    assert luhn_valid("4539148803436467")
    assert not luhn_valid("4539148803436468")
    assert "CREDIT_CARD" not in found(detector, "card 4539 1488 0343 6468", "en")


def test_bare_local_number_needs_a_phone_word(detector: PiiDetector) -> None:
    assert "PHONE_NUMBER" not in found(detector, "We sold 785 8949 units", "en")
    assert found(detector, "Text me on 785 8949", "en")["PHONE_NUMBER"] == ["785 8949"]


# --------------------------------------------------------------------------- locale


def test_language_for_locale() -> None:
    assert language_for_locale("fr") == "fr"
    assert language_for_locale("fr-FR") == "fr"
    assert language_for_locale("fr_CA.UTF-8") == "fr"
    assert language_for_locale("FR") == "fr"
    assert language_for_locale("en-GB") == "en"
    assert language_for_locale("de-DE") == "en"
    assert language_for_locale("") == "en"
    assert language_for_locale(None) == "en"


def test_locale_picks_the_pipeline(detector: PiiDetector, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []
    process_text = detector.nlp_engine.process_text

    def spy(text: str, language: str) -> Any:
        seen.append(language)
        return process_text(text, language)

    monkeypatch.setattr(detector.nlp_engine, "process_text", spy)
    detector.analyze("Bonjour Marie", "fr-BE")
    detector.analyze("Hello Mary", "en-US")
    detector.analyze("Hallo Maria", "de")
    detector.analyze("Hi", None)
    assert seen == ["fr", "en", "en", "en"]


def test_english_only_detector_falls_back() -> None:
    english = PiiDetector(pipelines={"en": load_pipeline("en")})
    assert english.language("fr-FR") == "en"
    assert "PHONE_NUMBER" in found(english, "Appelle-moi au 06 12 34 56 78", "fr")


# --------------------------------------------------------------------------- batching


def test_batch_matches_single_calls(detector: PiiDetector) -> None:
    texts = [
        "Mail me: sam@example.org",
        "Mon numéro : 06 12 34 56 78",
        "",
        "nothing to see here",
        "Ring (212) 555-0187 or visit 350 Fifth Avenue",
    ]
    locales: list[str | None] = ["en", "fr-FR", "fr", None, "en-US"]
    batch = detector.analyze_batch(texts, locales)
    assert batch == [detector.analyze(t, loc) for t, loc in zip(texts, locales, strict=True)]
    assert batch[2] == [] and batch[3] == []
    assert detector.analyze_batch(texts[:2], "en")[0][0].entity_type == "EMAIL_ADDRESS"
    with pytest.raises(ValueError):
        detector.analyze_batch(texts, ["en"])


# --------------------------------------------------------------------------- operators


TEXT = "Hi Ana. Call me at 06 12 34 56 78 tonight! My card is 4539 1488 0343 6467. Bye."
PHONE = PiiFinding("PHONE_NUMBER", 19, 33, 0.9)
CARD = PiiFinding("CREDIT_CARD", 54, 73, 1.0)
NAME = PiiFinding("PERSON", 3, 6, 0.85)


def test_findings_point_at_the_example() -> None:
    assert TEXT[PHONE.start : PHONE.end] == "06 12 34 56 78"
    assert TEXT[CARD.start : CARD.end] == "4539 1488 0343 6467"
    assert TEXT[NAME.start : NAME.end] == "Ana"


def test_replace_is_the_default() -> None:
    result = redact(TEXT, [PHONE, CARD, NAME])
    assert result.text == (
        "Hi [PERSON]. Call me at [PHONE_NUMBER] tonight! My card is [CREDIT_CARD]. Bye."
    )
    assert not result.blocked
    assert result.entities == [NAME, PHONE, CARD]


def test_mask_keeps_the_last_digits() -> None:
    ops = {
        "CREDIT_CARD": PiiOperator(type="mask"),
        "PHONE_NUMBER": PiiOperator(type="mask", keep_last=2, mask_char="#"),
        "PERSON": PiiOperator(type="keep"),
    }
    result = redact(TEXT, [PHONE, CARD, NAME], ops)
    assert "Hi Ana." in result.text
    assert "## ## ## ## 78" in result.text
    assert "**** **** **** 6467" in result.text
    # Never more than half of the characters, whatever keep_last says.
    assert redact("pin 1234", [PiiFinding("PIN", 4, 8, 1.0)], {"PIN": PiiOperator(
        type="mask", keep_last=10)}).text == "pin **34"  # fmt: skip


def test_drop_sentence() -> None:
    ops = {"PHONE_NUMBER": PiiOperator(type="drop_sentence")}
    result = redact(TEXT, [PHONE, CARD], ops)
    assert result.text == "Hi Ana. My card is [CREDIT_CARD]. Bye."
    assert not result.blocked
    last = redact("Good night. Call 06 12 34 56 78", [PiiFinding("PHONE_NUMBER", 17, 31, 1)], ops)
    assert last.text == "Good night."


def test_block_still_returns_redacted_text() -> None:
    ops = {"CREDIT_CARD": PiiOperator(type="block"), "PHONE_NUMBER": PiiOperator(type="mask")}
    result = redact(TEXT, [PHONE, CARD], ops)
    assert result.blocked
    assert result.blocked_entities == ("CREDIT_CARD",)
    assert "4539" not in result.text and "06 12" not in result.text
    assert "[CREDIT_CARD]" in result.text and "[PHONE_NUMBER]" in result.text


def test_overlaps_merge_and_the_strictest_operator_wins() -> None:
    text = "write to john.smith@example.com"
    email = PiiFinding("EMAIL_ADDRESS", 9, 31, 1.0)
    name = PiiFinding("PERSON", 9, 19, 0.85)
    result = redact(text, [name, email], {"PERSON": PiiOperator(type="block")})
    assert result.entities == [PiiFinding("EMAIL_ADDRESS", 9, 31, 1.0)]
    assert result.blocked and result.text == "write to [EMAIL_ADDRESS]"
    assert redact(text, [name, email]).text == "write to [EMAIL_ADDRESS]"


def test_custom_placeholder_and_out_of_range_findings() -> None:
    op = PiiOperator(type="replace", placeholder="<redacted>")
    result = redact("id 12345", [PiiFinding("X", 3, 8, 1), PiiFinding("Y", 5, 99, 1)], {"X": op})
    assert result.text == "id <redacted>"


def test_sentence_spans_respect_abbreviations_and_findings() -> None:
    text = "Meet Dr. Lee at 12 Main St. Springfield. Then lunch!\nOK?"
    spans = [text[s:e] for s, e in sentence_spans(text, protected=[(16, 39)])]
    assert spans == ["Meet Dr. Lee at 12 Main St. Springfield. ", "Then lunch!\n", "OK?"]


def test_detector_applies_configured_operators() -> None:
    config = PiiConfig(
        operators={"PHONE_NUMBER": "mask", "EMAIL_ADDRESS": "block"},
        default_operator=PiiOperator(type="replace"),
    )
    det = PiiDetector(config, pipelines={"en": load_pipeline("en")})
    masked = det.redact("Call me at (415) 555-0132.", "en")
    assert masked.text == "Call me at (***) ***-0132." and not masked.blocked
    blocked = det.redact("mail sam@example.org", "en")
    assert blocked.blocked and blocked.text == "mail [EMAIL_ADDRESS]"
    assert [r.text for r in det.redact_batch(["Call me at (415) 555-0132."], "en")] == [masked.text]


# --------------------------------------------------------------------------- configuration


def test_custom_recognizers_from_config() -> None:
    config = PiiConfig.model_validate(
        {
            "entities": ["EMAIL_ADDRESS"],
            "score_threshold": 0.5,
            "custom_recognizers": [
                {"entity": "MEMBER_ID", "patterns": [{"regex": r"\bMBR-\d{6}\b", "score": 0.8}]},
                {"entity": "CODENAME", "deny_list": ["Blue Heron"], "languages": ["fr"]},
            ],
            "operators": {"MEMBER_ID": {"type": "mask", "keep_last": 2}},
        }
    )
    det = PiiDetector(config, pipelines={"en": load_pipeline("en"), "fr": load_pipeline("fr")})
    text = "Ton badge MBR-123456 pour l'opération blue heron"
    fr = found(det, text, "fr")
    assert fr == {"MEMBER_ID": ["MBR-123456"], "CODENAME": ["blue heron"]}
    assert found(det, text, "en") == {"MEMBER_ID": ["MBR-123456"]}  # deny list is FR only
    assert det.redact(text, "fr").text == "Ton badge ***-****56 pour l'opération [CODENAME]"
    # Built-ins not listed in `entities` are not looked for.
    assert found(det, "call (415) 555-0132", "en") == {}


def test_allow_list_and_threshold() -> None:
    det = PiiDetector(
        PiiConfig(allow_list=["help@guardrail.example.com"]),
        pipelines={"en": load_pipeline("en")},
    )
    assert found(det, "Questions: help@guardrail.example.com", "en") == {}
    lenient = PiiDetector(PiiConfig(score_threshold=0.5), pipelines={"en": load_pipeline("en")})
    strict = PiiDetector(PiiConfig(score_threshold=0.95), pipelines={"en": load_pipeline("en")})
    assert "PHONE_NUMBER" in found(lenient, "ring 415.555.0132", "en")
    assert "PHONE_NUMBER" not in found(strict, "ring 415.555.0132", "en")


def test_config_validation() -> None:
    with pytest.raises(ValidationError, match="invalid regex"):
        CustomRecognizerConfig.model_validate({"entity": "X", "patterns": [{"regex": "(open"}]})
    with pytest.raises(ValidationError):
        CustomRecognizerConfig(entity="X")
    with pytest.raises(ValidationError):
        CustomRecognizerConfig(entity="lower", deny_list=["a"])
    with pytest.raises(ValidationError):
        PiiConfig.model_validate({"operators": {"PERSON": "shred"}})
    with pytest.raises(ValidationError):
        PiiConfig.model_validate({"unknown_key": 1})
    config = PiiConfig.model_validate({"operators": {"PERSON": "keep"}})
    assert config.operator_for("PERSON").type == "keep"
    assert config.operator_for("IBAN_CODE").type == "replace"
    with pytest.raises(ValueError, match="no recognizer"):
        PiiDetector(PiiConfig(entities=["US_SSN"]), pipelines={"en": load_pipeline("en")})


# --------------------------------------------------------------------------- offline


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every way out of the process raises, and is recorded."""
    attempts: list[str] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        attempts.append(repr(args[:2]))
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    yield attempts


def test_models_are_package_folders() -> None:
    for package in PIPELINE_PACKAGES.values():
        path = pipeline_path(package)
        assert (path / "config.cfg").is_file() and "site-packages" in str(path)


def test_nothing_downloads(no_network: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import spacy
    import tldextract
    import tldextract.tldextract as tldx
    from presidio_analyzer.predefined_recognizers import EmailRecognizer

    import classifiers.pii_recognizers as recognizers

    # Fresh, never-used extractors: the suffix list has to be obtained with no network.
    monkeypatch.setattr(recognizers, "_OFFLINE_EXTRACTOR", None)
    monkeypatch.setattr(tldx, "TLD_EXTRACTOR", tldextract.TLDExtract(cache_dir=None))
    spacy.load(pipeline_path(PIPELINE_PACKAGES["en"]), exclude=["parser", "ner", "lemmatizer"])

    det = PiiDetector(pipelines={"en": load_pipeline("en")})
    assert tldx.TLD_EXTRACTOR.suffix_list_urls == ()
    assert recognizers.offline_tld_extractor().suffix_list_urls == ()
    text = "mail kim@example.co.uk or call +44 20 7946 0958"
    kinds = found(det, text, "en")
    assert kinds["EMAIL_ADDRESS"] == ["kim@example.co.uk"]
    assert kinds["PHONE_NUMBER"] == ["+44 20 7946 0958"]
    # Presidio's stock recognizer goes through tldextract.extract: offline as well.
    assert EmailRecognizer().validate_result("kim@example.co.uk") is True
    assert no_network == []


def test_network_guard_is_effective(no_network: list[str]) -> None:
    with pytest.raises(OSError):
        socket.create_connection(("192.0.2.1", 443), timeout=0.1)
    assert no_network


# --------------------------------------------------------------------------- speed-ups


def test_pipelines_load_only_the_entity_recognizer(detector: PiiDetector) -> None:
    """Only spaCy's ``ner`` runs; Presidio's context words read the lower-cased token where
    a lemmatizer would have given a lemma, so no artifact has an empty lemma."""
    assert load_pipeline("en").pipe_names == ["ner"]
    assert load_pipeline("fr").pipe_names == ["ner"]
    artifacts = detector.nlp_engine.process_text("Appelez-moi au bureau, Marie", "fr")
    assert artifacts.lemmas and all(artifacts.lemmas)
    assert "appelez" in artifacts.lemmas
    assert [e.text for e in artifacts.entities] == ["Marie"]


@pytest.mark.parametrize(
    "text",
    [
        "my iban is fr76 3000 6000 0112 3456 7890 189",  # lower case, in a chat
        "IBAN: DE89 3704 0044 0532 0130 00 please",
        "Virement sur GB82WEST12345698765432 demain",
    ],
)
def test_the_iban_prefilter_keeps_every_iban(detector: PiiDetector, text: str) -> None:
    assert found(detector, text, "en").get("IBAN_CODE")


def test_phone_shapes_need_six_digits_in_the_text(detector: PiiDetector) -> None:
    assert "PHONE_NUMBER" not in found(detector, "call me on 12-34-5, ok?", "en")
    assert found(detector, "call me on 785 8949", "en")["PHONE_NUMBER"] == ["785 8949"]
