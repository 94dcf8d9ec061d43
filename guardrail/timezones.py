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
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import PhoneNumberType, timezone

from guardrail.models import Channel

Source = Literal["user", "phone", "policy", "assumed", "unknown"]

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


def from_request(zone: str | None, user_id: str, channel: Channel | None) -> ZoneChoice | None:
    """The zone the request gives, else the one its phone-number id implies, else None."""
    if zone:
        return ZoneChoice((ZoneInfo(zone),), "user", "user.timezone")
    found = phone_zones(user_id, channel)
    if found is None:
        return None
    zones, where = found
    return ZoneChoice(zones, "phone", f"no user.timezone; from the phone number's area, {where}")
