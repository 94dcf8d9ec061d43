"""Which time zone(s) a user is in, for rules that read local time (quiet hours).

The request's ``user.timezone`` wins. Without it, a user id that is a phone number (E.164,
a WhatsApp id) tells the country and often the area, by ``phonenumbers``' zone tables: a
number of several zones (a mobile in Australia, an Alaskan area code) keeps them all, and
a rule reads them the strict way (quiet if quiet in any). Otherwise the policy decides (see
:class:`guardrail.rules.quiet_hours.QuietHoursParams`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import PhoneNumberType, timezone

from guardrail.models import Channel

Source = Literal["user", "phone", "record", "conflict", "policy", "assumed", "unknown"]

# Ids that are phone numbers on their face: "+33612345678", "whatsapp:+1...", "tel:+1...",
# "12125550123@s.whatsapp.net". Bare digits only count on channels whose ids are numbers
# (a Telegram user id is digits too, and no phone number).
_PREFIXED = re.compile(r"^(?:whatsapp:|tel:|sms:)?\+(\d{6,15})$")
_WHATSAPP_JID = re.compile(r"^(\d{6,15})@(?:s\.whatsapp\.net|c\.us)$")
_DIGITS = re.compile(r"^(\d{6,15})$")
_NUMBER_CHANNELS = {Channel.WHATSAPP, Channel.SMS}
# Numbers that say nothing about where their holder is.
_NOT_A_PLACE = {
    PhoneNumberType.TOLL_FREE,
    PhoneNumberType.PREMIUM_RATE,
    PhoneNumberType.SHARED_COST,
    PhoneNumberType.VOIP,
    PhoneNumberType.PERSONAL_NUMBER,
    PhoneNumberType.UAN,
    PhoneNumberType.PAGER,
    PhoneNumberType.VOICEMAIL,
}


@dataclass(frozen=True)
class ZoneChoice:
    zones: tuple[ZoneInfo, ...]
    """The zones to read local time in; empty when unknown and the policy says defer."""
    source: Source
    why: str
    """For the decision's reason: where the zones come from."""

    def describe(self) -> str:
        names = ", ".join(z.key for z in self.zones[:4])
        more = f" and {len(self.zones) - 4} more" if len(self.zones) > 4 else ""
        return f"{names}{more} ({self.why})" if self.zones else self.why


def phone_digits(user_id: str, channel: Channel | None) -> str | None:
    """The E.164 digits of a user id that is a phone number, else None."""
    found = _PREFIXED.match(user_id) or _WHATSAPP_JID.match(user_id)
    if found is None and channel in _NUMBER_CHANNELS:
        found = _DIGITS.match(user_id)
    return found.group(1) if found else None


@lru_cache(maxsize=4096)
def _zones_of(digits: str) -> tuple[tuple[ZoneInfo, ...], str] | None:
    try:
        number = phonenumbers.parse("+" + digits, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    if phonenumbers.number_type(number) in _NOT_A_PLACE:
        return None
    zones = []
    for name in timezone.time_zones_for_number(number):
        try:
            zones.append(ZoneInfo(name))
        except (ZoneInfoNotFoundError, ValueError):
            continue  # "Etc/Unknown", or a zone this system's tzdata lacks
    region = phonenumbers.region_code_for_number(number) or "?"
    return (tuple(zones), f"+{number.country_code} {region}") if zones else None


def phone_zones(user_id: str, channel: Channel | None) -> tuple[tuple[ZoneInfo, ...], str] | None:
    """(zones, "+1 US") for a user id that is a phone number with a known place, else None."""
    digits = phone_digits(user_id, channel)
    return _zones_of(digits) if digits else None


def phone_region(user_id: str, channel: Channel | None) -> str | None:
    """The ISO 3166 country of a user id that is a phone number of a place ("JP", "US"),
    else None (not a number, or a toll-free or other placeless one)."""
    digits = phone_digits(user_id, channel)
    if digits is None or _zones_of(digits) is None:
        return None
    number = phonenumbers.parse("+" + digits, None)
    return phonenumbers.region_code_for_number(number) or None


def from_request(
    zone: str | None,
    user_id: str,
    channel: Channel | None,
    *,
    recorded: tuple[str, str] | None = None,
    now: datetime | None = None,
) -> ZoneChoice | None:
    """The zone(s) to read local time in, else None (nothing known).

    ``zone`` is the bot's claim (``user.timezone``); the evidence is the zones of a phone
    number id and the zone on record (``recorded``: name, who reported it). A claim that
    every piece of evidence allows (same zone, or the same UTC offset at ``now``) is used
    as it is; one that conflicts is read the strictest way, quiet if quiet in the claimed
    zone or any zone of the evidence. Without a claim, the evidence's zones."""
    evidence: list[tuple[tuple[ZoneInfo, ...], str]] = []
    if recorded is not None:
        evidence.append(((ZoneInfo(recorded[0]),), f"the user record ({recorded[1]})"))
    found = phone_zones(user_id, channel)
    if found is not None:
        evidence.append((found[0], f"the phone number's area, {found[1]}"))
    if zone:
        claimed = ZoneInfo(zone)
        against = [why for zones, why in evidence if not _allows(zones, claimed, now)]
        if not against:
            return ZoneChoice((claimed,), "user", "user.timezone")
        zones = _unique((claimed, *(z for zs, _ in evidence for z in zs)))
        why = f"the request says {zone}, which conflicts with {' and '.join(against)}"
        return ZoneChoice(zones, "conflict", why)
    if not evidence:
        return None
    zones = _unique(tuple(z for zs, _ in evidence for z in zs))
    source: Source = "record" if recorded is not None else "phone"
    return ZoneChoice(
        zones, source, f"no user.timezone; from {' and '.join(w for _, w in evidence)}"
    )


def _allows(zones: tuple[ZoneInfo, ...], claimed: ZoneInfo, now: datetime | None) -> bool:
    """Whether evidence of ``zones`` is consistent with the claimed zone."""
    if any(z.key == claimed.key for z in zones):
        return True
    if now is None:
        return False
    offset = now.astimezone(claimed).utcoffset()
    return any(now.astimezone(z).utcoffset() == offset for z in zones)


def _unique(zones: tuple[ZoneInfo, ...]) -> tuple[ZoneInfo, ...]:
    return tuple({z.key: z for z in zones}.values())
