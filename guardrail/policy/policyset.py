"""A set of policies loaded together (one file, or a folder of YAML files) and the choice
of the one that decides each request.

The set is immutable: a reload builds a whole new set and swaps one reference (see
:mod:`guardrail.policy.holder`), so a request never sees half of two versions.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Literal

from guardrail.consent import ConsentDetector, ConsentWords
from guardrail.models import Channel, OutreachRequest
from guardrail.policy import match
from guardrail.policy.core import LoadedPolicy, PolicyError, builtin
from guardrail.policy.resolve import Document, Resolver, policy_files, read_document, where_is
from guardrail.problems import Problem, at

FALLBACK = "default"
Applies = Literal["match", "fallback", "shadow", "none"]


@dataclass(frozen=True)
class Selection:
    """The policy chosen for a request, and how unknown user facts were handled."""

    loaded: LoadedPolicy
    request: OutreachRequest
    """The request as decided (``is_minor`` set when the set assumed a minor)."""
    missing: tuple[str, ...] = ()
    """Facts the set requires that nobody knows; the request is refused when any."""
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class PolicySet:
    source: str
    """What was loaded: a file, a folder, or ``<builtin>``."""
    members: tuple[LoadedPolicy, ...]
    """The policies of the set's own files, in file order."""
    fallback: LoadedPolicy
    """Decides requests no member's ``match`` selects."""
    files: frozenset[Path] = field(default_factory=frozenset)
    """Every file read to build the set (the watcher polls them)."""

    @cached_property
    def selectable(self) -> tuple[LoadedPolicy, ...]:
        """Members with a ``match``; the others serve as parents or shadow candidates."""
        return tuple(p for p in self.members if not p.policy.match.is_empty())

    def select(self, tenant: str, req: OutreachRequest) -> LoadedPolicy:
        """The most specific matching policy (see :mod:`guardrail.policy.match`)."""
        best, best_key = self.fallback, None
        for loaded in self.selectable:
            found = match.key(loaded.policy.match, tenant, req)
            if found is not None and (best_key is None or found > best_key):
                best, best_key = loaded, found
        return best

    def choose(self, tenant: str, req: OutreachRequest) -> Selection:
        """The policy for ``req``, with the set's ``unknown_user`` rules applied (read from
        the fallback policy) when the user's minor status or jurisdiction is unknown:
        ``fallback`` selects as :meth:`select` does, ``strictest`` assumes a minor or picks
        the strictest policy some jurisdiction would select, ``require`` refuses."""
        unknown = self.fallback.policy.unknown_user
        missing: list[str] = []
        notes: list[str] = []
        if req.user.is_minor is None and unknown.minor == "require":
            missing.append("user.is_minor")
        elif req.user.is_minor is None and unknown.minor == "strictest":
            req = req.model_copy(update={"user": req.user.model_copy(update={"is_minor": True})})
            notes.append("minor status unknown: decided as for a minor (unknown_user.minor)")
        if req.user.jurisdiction is None and unknown.jurisdiction == "require":
            missing.append("user.jurisdiction")
        if missing:
            return Selection(self.fallback, req, missing=tuple(missing))
        if req.user.jurisdiction is None and unknown.jurisdiction == "strictest":
            loaded = self._strictest(tenant, req)
            notes.append(
                f"jurisdiction unknown: the strictest policy any jurisdiction would select "
                f"({loaded.policy.name}, strictness {loaded.policy.strictness}; "
                "unknown_user.jurisdiction)"
            )
            return Selection(loaded, req, notes=tuple(notes))
        return Selection(self.select(tenant, req), req, notes=tuple(notes))

    def _strictest(self, tenant: str, req: OutreachRequest) -> LoadedPolicy:
        """Of the policy selected without a jurisdiction and every policy that one of its
        own jurisdictions would select, the one of highest strictness (then the more
        specific, then by name, so the answer never depends on file order)."""
        best = self.select(tenant, req)
        ranked = (best.policy.strictness, (-1,) * 6, "")
        for loaded in self.selectable:
            for pattern in loaded.policy.match.jurisdictions:
                user = req.user.model_copy(update={"jurisdiction": pattern})
                probe = req.model_copy(update={"user": user})
                found = match.key(loaded.policy.match, tenant, probe)
                if found is None or self.select(tenant, probe) is not loaded:
                    continue
                rank = (loaded.policy.strictness, found, loaded.policy.name)
                if rank > ranked:
                    best, ranked = loaded, rank
        return best

    def named(self, name: str) -> LoadedPolicy | None:
        if self.fallback.policy.name == name:
            return self.fallback
        return next((p for p in self.members if p.policy.name == name), None)

    def applies(self, loaded: LoadedPolicy) -> Applies:
        """How a policy of the set takes part: by ``match``, as the fallback, as a shadow
        candidate of an active policy, or not at all (a parent for ``extends`` only)."""
        if loaded is self.fallback:
            return "fallback"
        if any(loaded is p for p in self.selectable):
            return "match"
        same = (loaded.source, loaded.policy.name)
        if any((s.source, s.policy.name) == same for p in self.active for s in p.shadows):
            return "shadow"
        return "none"

    @property
    def active(self) -> tuple[LoadedPolicy, ...]:
        """Policies that can decide a request: the selectable ones and the fallback."""
        return (*self.selectable, self.fallback)

    def detector_for(self, tenant: str, bot: str, channel: Channel | None) -> ConsentDetector:
        """Opt-out wording for an inbound event of ``bot`` (of ``tenant``) on ``channel``.

        Each enforcing policy's words apply where that policy could decide: its ``match``
        admits the tenant, the bot and the channel (events carry no jurisdiction or age,
        so those do not narrow it; an event without a channel may be on any). The
        fallback's words apply too, unless a policy that pins nothing else admits every
        such event. Safety first among those: a word (or blunt wording) any of them treats
        as STOP opts out; a word or start phrase re-opts in only when every one lists it.
        Shadow-mode policies never change consent; when only they match, the fallback's
        words apply.
        """
        candidates = self._candidates(tenant, bot, channel)
        cached = self._detectors.get(candidates)
        if cached is None:
            cached = self._detectors[candidates] = _detector(
                [self.active[i].policy.consent for i in candidates]
                or [self.fallback.policy.consent]
            )
        return cached

    def _candidates(self, tenant: str, bot: str, channel: Channel | None) -> tuple[int, ...]:
        """Indices into :attr:`active` of the enforcing policies that could decide."""
        found, covered = [], False
        for i, loaded in enumerate(self.selectable):
            m = loaded.policy.match
            if (m.tenants and tenant not in m.tenants) or (m.bots and bot not in m.bots):
                continue
            if m.channels and channel is not None and channel not in m.channels:
                continue
            covered |= (
                not m.jurisdictions
                and m.minors == "any"
                and (not m.channels or channel is not None)
            )
            if loaded.policy.mode == "enforce":
                found.append(i)
        if not covered and self.fallback.policy.mode == "enforce":
            found.append(len(self.selectable))
        return tuple(found)

    @cached_property
    def _detectors(self) -> dict[tuple[int, ...], ConsentDetector]:
        """Detectors compiled once per set of candidate policies (there are few)."""
        return {}

    def for_event(self, tenant: str, bot: str, channel: Channel | None) -> LoadedPolicy:
        """The policy that governs an inbound event of ``bot`` (its crisis level, say).

        Events carry no jurisdiction or age, so the most specific enforcing policy whose
        ``match`` admits the tenant, the bot and the channel and pins nothing an event
        cannot tell (jurisdictions, minors) decides; else the fallback."""
        ranked = sorted(
            self.selectable, key=lambda p: match.specificity(p.policy.match), reverse=True
        )
        for loaded in ranked:
            m = loaded.policy.match
            if loaded.policy.mode != "enforce" or m.jurisdictions or m.minors != "any":
                continue
            if (m.tenants and tenant not in m.tenants) or (m.bots and bot not in m.bots):
                continue
            if m.channels and (channel is None or channel not in m.channels):
                continue
            return loaded
        return self.fallback

    def help_reply(self, tenant: str, bot: str, channel: Channel | None) -> tuple[str, str] | None:
        """(policy name, text) of the HELP answer for an event of ``bot`` on ``channel``.

        Events carry no jurisdiction, so the first enforcing policy (most specific match
        first, then the fallback) that has a ``help_reply`` and whose ``match`` admits
        the tenant, the bot and the channel answers.
        """
        ranked = sorted(
            self.selectable, key=lambda p: match.specificity(p.policy.match), reverse=True
        )
        for loaded in (*ranked, self.fallback):
            policy = loaded.policy
            if policy.mode != "enforce" or policy.consent.help_reply is None:
                continue
            m = policy.match
            if (m.tenants and tenant not in m.tenants) or (m.bots and bot not in m.bots):
                continue
            if m.channels and (channel is None or channel not in m.channels):
                continue
            return policy.name, policy.consent.help_reply
        return None


def builtin_set() -> PolicySet:
    return PolicySet(source="<builtin>", members=(), fallback=builtin())


def load_policy_set(path: str | Path | None) -> PolicySet:
    """A file or a folder of policies, every reference resolved; PolicyError lists all problems.

    In a folder, the policy named ``default`` is the fallback (the built-in one when there
    is none). A single file is the fallback itself unless it has a ``match``.
    """
    if path is None:
        return builtin_set()
    path = Path(path)
    folder = path.is_dir()
    files = policy_files(path) if folder else [path]
    documents, problems = _read(files, str(path) if folder else None)
    resolver = Resolver(documents, library=None if folder else path.resolve().parent)
    try:
        members = resolver.finish()
    except PolicyError as exc:
        raise PolicyError([*problems, *exc.problems]) from exc
    if problems:
        raise PolicyError(problems)
    by_doc = dict(zip((id(d) for d in documents), members, strict=True))
    fallback = _fallback(documents, by_doc, single=not folder)
    _check_selection(documents, by_doc)
    return PolicySet(
        source=str(path),
        members=tuple(members),
        fallback=fallback,
        files=frozenset(resolver.files),
    )


def _read(files: list[Path], folder: str | None) -> tuple[list[Document], list[Problem]]:
    documents, problems = [], []
    if folder is not None and not files:
        problems.append(Problem(folder, 1, 1, "no policy files (*.yaml, *.yml) in this folder"))
    for file in files:
        try:
            documents.append(read_document(file))
        except PolicyError as exc:
            problems += exc.problems
    return documents, problems


def _fallback(
    documents: list[Document], by_doc: dict[int, LoadedPolicy], *, single: bool
) -> LoadedPolicy:
    for doc in documents:
        loaded = by_doc[id(doc)]
        if loaded.policy.name == FALLBACK:
            if not loaded.policy.match.is_empty():
                raise PolicyError(
                    [
                        _at(
                            doc,
                            "match",
                            "the default policy applies wherever no other policy matches; it "
                            "takes no match (give this policy another name)",
                        )
                    ]
                )
            return loaded
    if single and documents and by_doc[id(documents[0])].policy.match.is_empty():
        return by_doc[id(documents[0])]
    return builtin()


def _check_selection(documents: list[Document], by_doc: dict[int, LoadedPolicy]) -> None:
    """Refuse sets where two policies could claim one request with equal precedence."""
    problems = []
    seen: list[Document] = []
    for doc in documents:
        mine = by_doc[id(doc)].policy.match
        if mine.is_empty():
            continue
        for other in seen:
            example = match.tie(by_doc[id(other)].policy.match, mine)
            if example is not None:
                problems.append(
                    _at(
                        doc,
                        "match",
                        f"match: ties with policy {by_doc[id(other)].policy.name!r} "
                        f"({where_is(other.get('match') or other.root)}): both would apply "
                        f"with equal precedence to a request for {example}; make one of them "
                        "more specific",
                    )
                )
        seen.append(doc)
    if problems:
        raise PolicyError(problems)


def _at(doc: Document, key: str, message: str) -> Problem:
    node = next((k for k, _ in doc.root.value if k.value == key), None)
    return at(node or doc.root, message, doc.source)


def _detector(words: list[ConsentWords]) -> ConsentDetector:
    start = set(words[0].start).intersection(*(w.start for w in words[1:]))
    start_phrases = set(words[0].start_phrases).intersection(*(w.start_phrases for w in words))
    return ConsentDetector(
        ConsentWords(
            stop=_union(w.stop for w in words),
            stop_all=_union(w.stop_all for w in words),
            start=[s for s in words[0].start if s in start],
            start_phrases=[p for p in words[0].start_phrases if p in start_phrases],
            blunt=_union(w.blunt for w in words),
            stop_phrases=_union(w.stop_phrases for w in words),
            filler=_union(w.filler for w in words),
            help=_union(w.help for w in words),
        )
    )


def _union(lists: Iterable[list[str]]) -> list[str]:
    merged: dict[str, None] = {}
    for words in lists:
        merged.update(dict.fromkeys(words))
    return list(merged)
