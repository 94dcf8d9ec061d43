"""The running gateway's policies, and their reload without a restart.

A reload (file change, ``POST /v1/policies/reload``, SIGHUP) builds a whole new
:class:`PolicySet` and then replaces one reference. Requests read that reference once and
decide with what they got, so each decision uses exactly one version. A set that fails to
load is rejected: the running one stays, and the problems show in ``GET /v1/policies``, in
the log and in ``guardrail_policy_reload_total{outcome="error"}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import watchfiles
from prometheus_client import CollectorRegistry, Counter, Gauge

from guardrail.models import OutreachRequest
from guardrail.policy.core import LoadedPolicy, PolicyError
from guardrail.policy.policyset import PolicySet, load_policy_set
from guardrail.policy.resolve import POLICY_SUFFIXES
from guardrail.problems import Problem

log = logging.getLogger("guardrail.policy")

Trigger = Literal["startup", "file", "api", "signal"]
Fingerprint = tuple[tuple[str, int, int], ...]


@dataclass(frozen=True)
class ReloadStatus:
    at: datetime
    ok: bool
    trigger: Trigger
    errors: tuple[str, ...] = ()
    actor: str | None = None
    """The API key name that asked for it (``api`` trigger)."""
    actor_tenant: str | None = None
    """The tenant of that key (a tenant sees another tenant's key name nowhere)."""
    problems: tuple[Problem, ...] = ()
    """``errors`` with their files (a tenant sees those about its own policies)."""

    def as_json(self) -> dict[str, object]:
        return {
            "at": self.at.isoformat(),
            "ok": self.ok,
            "trigger": self.trigger,
            "actor": self.actor,
            "errors": list(self.errors),
        }


ReloadListener = Callable[[PolicySet, ReloadStatus], Awaitable[None]]

TENANT_POLICY = "tenant-policy"
"""How metrics name a policy that matches tenants or bots, unless tenant labels are on."""


def tenant_specific(loaded: LoadedPolicy) -> bool:
    """A policy for given tenants or bots: its name may tell who they are."""
    match = loaded.policy.match
    return bool(match.tenants or match.bots)


class PolicyHolder:
    """Holds the active set; every reader takes :attr:`current` once per request."""

    def __init__(
        self,
        path: Path | str | None,
        *,
        registry: CollectorRegistry | None = None,
        tenant_labels: bool = True,
    ) -> None:
        """The startup load: unlike a reload, a broken policy here is fatal (PolicyError).
        ``tenant_labels`` False: metrics name tenant- or bot-specific policies
        ``tenant-policy`` (the operator's ``metrics_tenant_labels``)."""
        self.path = Path(path) if path is not None else None
        self.tenant_labels = tenant_labels
        self._labels: dict[str, str] = {}
        self.registry = registry or CollectorRegistry()
        self.reloads = Counter(
            "guardrail_policy_reload",
            "Policy reloads, by outcome (ok, error)",
            ["outcome"],
            registry=self.registry,
        )
        self.info = Gauge(
            "guardrail_policy_info",
            "Loaded policies (the set's files, the fallback, shadow candidates): 1 per version",
            ["name", "version"],
            registry=self.registry,
            multiprocess_mode="livemax",  # serve --workers: one series per version
        )
        self._published: set[tuple[str, str]] = set()
        self.shadow_verdicts = Counter(
            "guardrail_shadow_verdicts",
            "Would-be verdicts of shadow policies (never enforced)",
            ["policy", "verdict"],
            registry=self.registry,
        )
        self._lock = threading.Lock()
        self.on_reload: list[ReloadListener] = []
        """Awaited, in the event loop, after each successful reload (e.g. the audit log)."""
        before = self._stamp(frozenset())
        self.current: PolicySet = load_policy_set(self.path)
        self._fingerprint = self._settle(before, self.current.files)
        self.last_reload = ReloadStatus(datetime.now(UTC), True, "startup")
        self._publish(self.current)

    def select(self, tenant: str, req: OutreachRequest) -> LoadedPolicy:
        return self.current.select(tenant, req)

    def count_shadow(self, policy: str, verdict: str) -> None:
        self.shadow_verdicts.labels(self.metric_name(policy), verdict).inc()

    def metric_name(self, policy: str) -> str:
        """The name a metric label may carry for ``policy``."""
        if self.tenant_labels:
            return policy
        return self._labels.get(policy, TENANT_POLICY)

    def rule_label(self, rule: str) -> str:
        """A reason's rule id as a metric label: a shadow candidate's (``name:rule``) with
        its policy named as :meth:`metric_name` says."""
        name, sep, rest = rule.partition(":")
        return f"{self.metric_name(name)}:{rest}" if sep and not self.tenant_labels else rule

    def reload(
        self, trigger: Trigger, actor: str | None = None, actor_tenant: str | None = None
    ) -> ReloadStatus:
        """Build a new set from the same source; swap it in only when it loads cleanly."""
        with self._lock:
            before = self._stamp(self.current.files)
            try:
                policies = load_policy_set(self.path)
            except PolicyError as exc:
                errors = tuple(str(p) for p in exc.problems)
                self._fingerprint = self._settle(before, self.current.files)
                self.last_reload = ReloadStatus(
                    datetime.now(UTC),
                    False,
                    trigger,
                    errors,
                    actor,
                    actor_tenant,
                    tuple(exc.problems),
                )
                self.reloads.labels("error").inc()
                log.error(
                    "policy reload (%s) rejected; still running %s:\n%s",
                    trigger,
                    _describe(self.current),
                    "\n".join(errors),
                )
                return self.last_reload
            self.current = policies  # the swap: one reference, atomic
            self._fingerprint = self._settle(before, policies.files)
            self.last_reload = ReloadStatus(
                datetime.now(UTC), True, trigger, (), actor, actor_tenant
            )
            self.reloads.labels("ok").inc()
            self._publish(policies)
            log.info("policies reloaded (%s): %s", trigger, _describe(policies))
            return self.last_reload

    async def areload(
        self, trigger: Trigger, actor: str | None = None, actor_tenant: str | None = None
    ) -> ReloadStatus:
        """:meth:`reload` off the event loop (parsing a folder of policies takes milliseconds),
        then the listeners."""
        status = await asyncio.to_thread(self.reload, trigger, actor, actor_tenant)
        if status.ok:
            current = self.current
            for listener in self.on_reload:
                try:
                    await listener(current, status)
                except Exception:  # a listener must not undo or hide a good reload
                    log.exception("policy reload listener %r failed", listener)
        return status

    def changed(self) -> bool:
        """Whether any policy file changed (or appeared, or went) since the last load."""
        return self._stamp(self.current.files) != self._fingerprint

    async def watch(self, settle: float = 2.0, stop: asyncio.Event | None = None) -> None:
        """Reload when a policy file changes, until ``stop`` is set.

        watchfiles reports file-system events; changes are gathered until none came for
        ``settle`` seconds (an editor may still be writing), then one reload runs. Changes
        an API or SIGHUP reload already took in are skipped (the fingerprint matches).
        """
        if self.path is None:
            return
        stop = stop or asyncio.Event()
        debounce = max(1, round(settle * 1000))
        while not stop.is_set():
            roots = self._roots()
            try:
                async for changes in watchfiles.awatch(
                    *roots,
                    watch_filter=self._relevant,
                    debounce=debounce,
                    step=min(50, debounce),
                    stop_event=stop,
                ):
                    if changes and self.changed():
                        await self.areload("file")
                    if self._roots() != roots:
                        break  # the set now reads files elsewhere: watch those folders too
            except Exception:  # the watcher must outlive any surprise (a folder removed...)
                log.exception("policy file watcher failed")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), settle)

    def _roots(self) -> tuple[Path, ...]:
        """The folders to watch: the policy folder (or the file's), and those of its files.
        Folders, not files: editors often save by replacing a file with a new one."""
        assert self.path is not None
        path = self.path.resolve()
        folders = {path if path.is_dir() else path.parent}
        folders |= {file.parent for file in self.current.files}
        return tuple(sorted(f for f in folders if f.is_dir()))

    def _relevant(self, change: watchfiles.Change, name: str) -> bool:
        """A file of the set, the configured path, or a policy file in the policy folder."""
        assert self.path is not None
        file, path = Path(name).resolve(), self.path.resolve()
        if file == path or file in self.current.files:
            return True
        return file.parent == path and file.suffix in POLICY_SUFFIXES

    def _stamp(self, files: frozenset[Path]) -> Fingerprint:
        return fingerprint_of(self.path, files)

    def _settle(self, before: Fingerprint, files: frozenset[Path]) -> Fingerprint:
        """The fingerprint to compare with next; empty (forcing a reload) when a file the
        load read changed while it was being read."""
        after = self._stamp(files)
        seen = {name: stamp for name, *stamp in before}
        moved = any(seen.get(name, stamp) != stamp for name, *stamp in after)
        return () if moved else after

    def _publish(self, policies: PolicySet) -> None:
        # Zero what was published before clearing: under serve --workers the values live in
        # files that clear() does not touch, and a replaced version must not stay at 1.
        for labels in self._published:
            self.info.labels(*labels).set(0)
        self.info.clear()
        self._published = set()
        self._labels = {}
        for loaded in (*policies.members, policies.fallback):  # a tenant's shadows are its own
            for each in (loaded, *loaded.shadows):
                hidden = tenant_specific(loaded) or tenant_specific(each)
                if hidden or each.policy.name not in self._labels:
                    self._labels[each.policy.name] = TENANT_POLICY if hidden else each.policy.name
        for loaded in (*policies.members, policies.fallback):
            for each in (loaded, *loaded.shadows):
                labels = (self.metric_name(each.policy.name), each.version)
                self.info.labels(*labels).set(1)
                self._published.add(labels)


def fingerprint_of(path: Path | None, files: frozenset[Path]) -> Fingerprint:
    """(path, mtime, size) of every file of the set, and of every policy file in its folder."""
    if path is None:
        return ()
    watched = set(files) | {path.resolve()}
    if path.is_dir():
        watched |= {p.resolve() for p in path.iterdir() if p.suffix in POLICY_SUFFIXES}
    stamps = []
    for file in sorted(watched):
        try:
            stat = file.stat()
        except OSError:
            stamps.append((str(file), -1, -1))  # gone: a change too
        else:
            stamps.append((str(file), stat.st_mtime_ns, stat.st_size))
    return tuple(stamps)


def _describe(policies: PolicySet) -> str:
    names = [f"{p.policy.name} {p.version[:15]}" for p in (*policies.members, policies.fallback)]
    return ", ".join(dict.fromkeys(names))


@contextlib.asynccontextmanager
async def reloading(
    holder: PolicyHolder, *, poll: float | None = 2.0, sighup: bool = False
) -> AsyncIterator[None]:
    """Hot reload for the app's lifetime: the file watcher, and SIGHUP under ``serve``.

    ``poll`` is the watcher's settle time in seconds (None or 0: no watcher).

    SIGHUP is only taken where asked (the ``serve`` command): a signal handler belongs to
    the main thread's loop, which an embedding process or a test may not own.
    """
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    watcher = asyncio.create_task(holder.watch(poll, stop)) if poll and holder.path else None
    pending: set[asyncio.Task[ReloadStatus]] = set()

    def on_sighup() -> None:
        log.info("SIGHUP: reloading policies")
        task = loop.create_task(holder.areload("signal"))
        pending.add(task)
        task.add_done_callback(pending.discard)

    if sighup:
        loop.add_signal_handler(signal.SIGHUP, on_sighup)
    try:
        yield
    finally:
        stop.set()  # the watch thread sees it within a step; cancelling alone would wait
        if sighup:
            loop.remove_signal_handler(signal.SIGHUP)
        for task in (watcher, *pending):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
