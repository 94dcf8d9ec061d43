"""The language of a user's locale, as policies key their texts and thresholds."""

from __future__ import annotations


def language_of(locale: str | None, default: str = "en") -> str:
    """``fr-FR``, ``fr_CA``, ``FR`` → ``fr``; no locale → ``default``."""
    if not locale:
        return default
    return locale.replace("_", "-").split("-")[0].lower()
