"""The language of a user's locale, as policies key their texts and thresholds."""

from __future__ import annotations


def language_of(locale: str | None, default: str = "en") -> str:
    """``fr-FR``, ``fr_CA``, ``FR`` → ``fr``; no locale → ``default``."""
    if not locale:
        return default
    return locale.replace("_", "-").split("-")[0].lower()


_FRENCH_WORDS = frozenset(
    {
        "je", "tu", "il", "elle", "nous", "vous", "ils", "les", "des", "une", "est", "pas",
        "avec", "pour", "dans", "sur", "mais", "que", "qui", "ton", "ta", "tes", "mon", "ma",
        "mes", "ce", "cette", "ça", "ca", "suis", "es", "sont", "c'est", "j'ai", "t'as",
        "salut", "bonjour", "merci", "oui", "non", "aussi", "très", "tres", "bien", "encore",
        "quoi", "comment",
    }
)  # fmt: skip
_ENGLISH_WORDS = frozenset(
    {
        "i", "you", "he", "she", "we", "they", "the", "a", "an", "is", "are", "was", "not",
        "with", "for", "in", "on", "but", "that", "who", "your", "my", "this", "it's", "i'm",
        "have", "has", "be", "hi", "hello", "thanks", "yes", "no", "also", "very", "well",
        "still", "what", "how", "do", "did",
    }
)  # fmt: skip
_APOSTROPHE = {ord("\u2019"): "'"}


def guess_language(text: str) -> str | None:
    """``fr`` or ``en`` from common function words, when a text shows one clearly; None when
    it does not. For texts in the user's language with no locale to say which (a bot writes
    to the user in their language)."""
    words = [w.strip('.,!?;:()"«»…') for w in text.lower().translate(_APOSTROPHE).split()]
    fr = sum(w in _FRENCH_WORDS for w in words)
    en = sum(w in _ENGLISH_WORDS for w in words)
    if fr >= 2 and fr > en:
        return "fr"
    if en >= 2 and en > fr:
        return "en"
    return None
