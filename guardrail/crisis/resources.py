"""Crisis resources: a registry file of helplines, each with the date it was verified.

The message that carries them follows safe-messaging guidelines (see resources.yaml);
the registry picks the helpline by the user's jurisdiction, then by locale, then falls
back to an international directory, and the language by the user's locale.
"""

from __future__ import annotations

from datetime import date
from functools import cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from guardrail.locales import language_of

REGISTRY_FILE = Path(__file__).with_name("resources.yaml")
FALLBACK = "*"


class CrisisResource(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    jurisdictions: list[str]
    verified_at: date
    source: str
    text: dict[str, str] = Field(description="by language; must include 'en'")
    emergency: dict[str, str] = Field(
        default_factory=dict,
        description="by language: the emergency number, said first after an imminent signal",
    )

    @model_validator(mode="after")
    def _has_english(self) -> CrisisResource:
        if "en" not in self.text:
            raise ValueError(f"resource {self.id}: an 'en' text is required as the fallback")
        return self


class Framing(BaseModel):
    model_config = ConfigDict(extra="forbid")

    before: str
    after: str


class ResourceRegistry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resources: list[CrisisResource]
    framing: dict[str, Framing]

    @model_validator(mode="after")
    def _has_fallback(self) -> ResourceRegistry:
        if not any(FALLBACK in r.jurisdictions for r in self.resources):
            raise ValueError('one resource must have jurisdictions ["*"] (the fallback)')
        if "en" not in self.framing:
            raise ValueError("framing must include 'en'")
        return self

    @classmethod
    def load(cls, path: Path = REGISTRY_FILE) -> ResourceRegistry:
        return cls.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))

    def pick(self, jurisdiction: str | None, locale: str | None) -> CrisisResource:
        """The helpline for a user: by jurisdiction ("US-CA" → US), else by locale region."""
        for code in (_country(jurisdiction), _region(locale)):
            if code:
                found = next((r for r in self.resources if code in r.jurisdictions), None)
                if found:
                    return found
        return next(r for r in self.resources if FALLBACK in r.jurisdictions)

    def message(
        self, jurisdiction: str | None, locale: str | None, *, imminent: bool = False
    ) -> str:
        """The full crisis message in the user's language (English when we lack theirs);
        after an imminent signal, the emergency number comes first."""
        language = language_of(locale)
        resource = self.pick(jurisdiction, locale)
        if language not in resource.text or language not in self.framing:
            language = "en"
        framing = self.framing[language]
        body = f"{framing.before} {resource.text[language]} {framing.after}"
        if imminent:
            return f"{self.emergency(resource, language)} {body}"
        return body

    def emergency(self, resource: CrisisResource, language: str) -> str:
        """The emergency sentence of a resource (the fallback's when it has none)."""
        for entry in (resource, next(r for r in self.resources if FALLBACK in r.jurisdictions)):
            if entry.emergency:
                return entry.emergency.get(language) or entry.emergency["en"]
        return "If you are in danger right now, call your local emergency number."

    def signature(
        self, jurisdiction: str | None, locale: str | None, *, imminent: bool = False
    ) -> str:
        """The sentence that tells a text already carries resources: the helpline's, or
        after an imminent signal the emergency one."""
        language = language_of(locale)
        resource = self.pick(jurisdiction, locale)
        if imminent:
            return self.emergency(resource, language if language in resource.text else "en")
        return resource.text.get(language) or resource.text["en"]


def _country(jurisdiction: str | None) -> str | None:
    return jurisdiction.split("-")[0].upper() if jurisdiction else None


def _region(locale: str | None) -> str | None:
    parts = (locale or "").replace("_", "-").split("-")
    return parts[1].upper() if len(parts) > 1 and len(parts[1]) == 2 else None


@cache
def default_registry() -> ResourceRegistry:
    return ResourceRegistry.load()
