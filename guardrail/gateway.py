"""The running gateway's parts, built once from settings and shared by every request."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from guardrail.analysis import Analyzer, shared_pii
from guardrail.audit import AuditOptions, AuditTrail
from guardrail.audit.outbox import RecordCopier
from guardrail.audit.witness import Witness
from guardrail.auth import Authenticator
from guardrail.config import DEFAULT_TENANT, Settings, audit_db_path, audit_key_file_path
from guardrail.consent import ConsentDetector
from guardrail.heap import freeze_heap
from guardrail.metrics import Metrics
from guardrail.models import Channel, OutreachRequest
from guardrail.notify import ReviewNotifier
from guardrail.platforms.adapter import Adapter
from guardrail.platforms.registry import build_adapter
from guardrail.policy import LoadedPolicy, PolicySet
from guardrail.policy.holder import PolicyHolder, ReloadStatus
from guardrail.quota import TenantQuota
from guardrail.risk import Assessor, ClassifierAssessor, LexiconAssessor, NoAssessor
from guardrail.stages import CLOCK
from guardrail.state import KeyTtls, open_store
from guardrail.state.base import Store

if TYPE_CHECKING:
    from classifiers.batcher import MicroBatcher
    from guardrail.rules.pii import PiiParams

log = logging.getLogger("guardrail")

ASSESSORS: dict[str, Callable[[], Assessor]] = {"none": NoAssessor, "lexicon": LexiconAssessor}
"""Self-harm assessors by settings name; a classifier backend adds one line here."""


class ClientTimeRejected(ValueError):
    """An outreach ``ts`` too far from the gateway clock (caps could be dodged by backdating)."""


def system_clock() -> datetime:
    return datetime.now(UTC)


def limit_blas(threads: int) -> None:
    """Cap the process's BLAS threads (measured: the heads' products on a batch of 8 took
    ~12x longer with OpenBLAS's default threads, which spin against the PII and event-loop
    threads). Process-wide and idempotent; the encoder sets its own limit per call."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads, user_api="blas")


@dataclass
class Gateway:
    settings: Settings
    store: Store
    policies: PolicyHolder
    """The active policy set; requests pick theirs with ``policies.select``."""
    auth: Authenticator
    clock: Callable[[], datetime] = system_clock
    metrics: Metrics = field(default_factory=Metrics)
    adapters: dict[str, Adapter] = field(default_factory=dict)
    audit: AuditTrail = field(default_factory=AuditTrail.memory)
    assessor: Assessor = field(default_factory=NoAssessor)
    """Scores user messages for self-harm risk (settings.assessor picks it)."""
    notifier: ReviewNotifier | None = None
    """The operator's review webhook, told of every crisis (settings.review_webhook)."""
    classifiers: MicroBatcher | None = None
    """The classifier stack behind its micro-batcher, once loaded (see start_classifiers)."""
    classifiers_state: str = "off"
    """off, loading, ready, or "failed: <why>" (shown by /readyz)."""
    records: RecordCopier | None = None
    """Copies consent and crisis records from the store's audit outbox to the audit log."""
    witness: Witness | None = None
    """Publishes the audit log's signed head (settings.audit_witness)."""
    pii_state: str = "off"
    """off (no active policy detects PII), loading, ready, or "failed: <why>"."""
    classify_quota: TenantQuota = field(default_factory=lambda: TenantQuota(256))
    """Texts each tenant may have in ``/v1/classify`` at once (settings)."""

    @property
    def policy(self) -> LoadedPolicy:
        """The fallback policy of the active set (the one requests get when nothing matches)."""
        return self.policies.current.fallback

    def detector_for(self, tenant: str, bot: str, channel: Channel | None) -> ConsentDetector:
        """Opt-out wording for an event of ``bot`` on ``channel`` (see PolicySet.detector_for)."""
        return self.policies.current.detector_for(tenant, bot, channel)

    @classmethod
    def from_settings(
        cls, settings: Settings, *, clock: Callable[[], datetime] = system_clock
    ) -> Gateway:
        metrics = Metrics()
        policies = PolicyHolder(
            settings.policy,
            registry=metrics.registry,
            tenant_labels=settings.metrics_tenant_labels,
        )
        metrics.rule_label = policies.rule_label
        gateway = cls(
            settings=settings,
            store=open_store(
                db=settings.db,
                redis_url=settings.redis_url,
                ttls=retention_ttls(settings),
                prefix=settings.redis_prefix,
            ),
            policies=policies,
            auth=Authenticator(settings.all_keys()),
            clock=clock,
            metrics=metrics,
            audit=AuditTrail.open(audit_options(settings), clock=clock),
            assessor=NoAssessor()
            if settings.assessor == "classifier"
            else _assessor(settings.assessor),
            classify_quota=TenantQuota(settings.classify_max_in_flight),
        )
        gateway.records = RecordCopier(gateway.store, gateway.audit)
        witness = settings.audit_witness
        if witness is not None and (witness.file or witness.url):
            gateway.witness = Witness(
                gateway.audit,
                file=witness.file,
                url=witness.url,
                interval_s=witness.interval.total_seconds(),
            )
        if settings.review_webhook:  # its outbox lives in the store, its attempts in the log
            gateway.notifier = ReviewNotifier(settings.review_webhook, gateway.store, gateway.audit)
        for loaded in policies.current.active:
            for owner in policy_owners(settings, loaded):
                gateway.audit.record_policy_reload_sync(
                    name=loaded.policy.name,
                    version=loaded.version,
                    source=loaded.source,
                    tenant=owner,
                    reason="startup",
                    only_if_changed=True,
                )

        async def audit_reload(current: PolicySet, status: ReloadStatus) -> None:
            for loaded in current.active:
                for owner in policy_owners(settings, loaded):
                    await gateway.audit.record_policy_reload(
                        name=loaded.policy.name,
                        version=loaded.version,
                        source=loaded.source,
                        tenant=owner,
                        actor=shown_actor(status, owner),
                        reason=status.trigger,
                        only_if_changed=True,
                    )

        policies.on_reload.append(audit_reload)

        async def rewarm_pii(current: PolicySet, status: ReloadStatus) -> None:
            gateway.start_pii()  # a reloaded policy may detect other entities

        policies.on_reload.append(rewarm_pii)
        for bot, cfg in settings.bots.items():
            if cfg.upstream is not None:
                gateway.adapters[bot] = build_adapter(cfg.upstream)
        if settings.default_upstream is not None:
            gateway.adapters["*"] = build_adapter(settings.default_upstream)
        if settings.classifiers:
            gateway.start_classifiers()
        gateway.start_pii()
        threading.Thread(target=_warm_floor, name="warm-floor", daemon=True).start()
        if settings.assessor == "classifier":  # the lexicon answers until the stack is loaded
            gateway.assessor = ClassifierAssessor(lambda: gateway.classifiers)
        return gateway

    def start_classifiers(self) -> threading.Thread:
        """Load the classifier stack in a background thread, so the server answers at once;
        a failure is logged and shown in ``classifiers_state``, never raised."""

        def load() -> None:
            try:
                from classifiers.batcher import MicroBatcher
                from classifiers.stack import ClassifierStack

                limit_blas(self.settings.blas_threads)
                stack = ClassifierStack.load(backends=self.settings.classifiers_config)
                stack.clock = CLOCK
                self.classifiers = MicroBatcher(stack, registry=self.metrics.registry)
                freeze_heap()  # the models live as long as the process
                self.classifiers_state = "ready"
                log.info("classifiers loaded: %s", stack.describe())
            except Exception as exc:  # the gateway runs on without them
                self.classifiers_state = f"failed: {type(exc).__name__}: {exc}"
                log.exception("classifiers failed to load; running without them")

        self.classifiers_state = "loading"
        thread = threading.Thread(target=load, name="load-classifiers", daemon=True)
        thread.start()
        return thread

    def start_pii(self) -> threading.Thread | None:
        """Build the PII detectors the active policies use in the background (spaCy loads
        in seconds), so the first message that needs them does not wait and ``/readyz``
        can say when they are there; None when no active policy detects PII."""
        if not self._pii_configs():
            self.pii_state = "off"
            return None
        self.pii_state = "loading"
        thread = threading.Thread(target=self.warm_pii, name="warm-pii", daemon=True)
        thread.start()
        return thread

    def _pii_configs(self) -> list[PiiParams]:
        from guardrail.rules.pii import Pii, PiiParams

        found = []
        for loaded in self.policies.current.active:
            for candidate in (loaded, *loaded.shadows):
                params = candidate.policy.rule_params(Pii.id)
                if isinstance(params, PiiParams) and params.enabled:
                    found.append(params)
        return found

    def warm_pii(self) -> None:
        """Build the PII detectors of every active policy, both languages; the state says
        how it went (a failure is logged and left to the decisions, which fail closed)."""
        try:
            for params in self._pii_configs():
                for lang in ("en", "fr"):
                    shared_pii().analyze_blocking("warm-up", lang, params, timeout=300)
        except Exception as exc:
            self.pii_state = f"failed: {type(exc).__name__}: {exc}"
            log.warning("PII warm-up failed: %s", exc)
            return
        self.pii_state = "ready"

    def readiness(self) -> list[str]:
        """What the active policies need that is not there yet (empty: ready): the
        classifier stack when a rule reads it, the PII detectors when a policy detects PII."""
        missing = []
        if self.classifiers_state != "ready" and self.settings.classifiers and self._needs_stack():
            missing.append(f"classifiers: {self.public_classifiers_state}")
        if self.pii_state not in ("ready", "off"):
            missing.append(f"pii: {_public(self.pii_state)}")
        return missing

    def _needs_stack(self) -> bool:
        from guardrail.rules import RULES

        for loaded in self.policies.current.active:
            for candidate in (loaded, *loaded.shadows):
                policy = candidate.policy
                for rule in RULES:
                    params = policy.rule_params(rule.id)
                    needs = rule.needs(params) if params.enabled else None
                    if needs is not None and needs.classifiers:
                        return True
        return False

    @property
    def public_classifiers_state(self) -> str:
        """``classifiers_state`` as callers may see it: ``failed: <Type>: <message>``
        becomes ``failed: <Type>`` (the message, with paths and hosts, is in the log)."""
        return _public(self.classifiers_state)

    @property
    def public_pii_state(self) -> str:
        return _public(self.pii_state)

    @property
    def analyzer(self) -> Analyzer:
        """The content-analysis stage: the process's PII worker and these classifiers."""
        return Analyzer(classifiers=lambda: self.classifiers, state=lambda: self.classifiers_state)

    def adapter_for(self, bot: str) -> Adapter | None:
        return self.adapters.get(bot) or self.adapters.get("*")

    def tenant_of_bot(self, bot: str) -> str | None:
        cfg = self.settings.bots.get(bot)
        return cfg.tenant if cfg else None

    def decision_time(self, req: OutreachRequest) -> datetime:
        now = self.clock()
        if req.ts is None:
            return now
        if self.settings.trust_client_time or abs(req.ts - now) <= self.settings.client_time_skew:
            return req.ts.astimezone(UTC)
        raise ClientTimeRejected(
            f"ts {req.ts.isoformat()} is more than {self.settings.client_time_skew} from the "
            "gateway clock; omit ts, or run the gateway with trust_client_time for replay"
        )

    async def aclose(self) -> None:
        if self.classifiers is not None:
            await self.classifiers.aclose()
        for adapter in {id(a): a for a in self.adapters.values()}.values():
            await adapter.aclose()
        if self.notifier is not None:
            await self.notifier.aclose()
        await self.store.close()
        await self.audit.close()


def policy_owners(settings: Settings, loaded: LoadedPolicy) -> list[str | None]:
    """Whose auditors may read a policy's load record: every tenant's (None) for a policy
    for everyone; the tenants it names, or its bots' tenants, for one that is not; the
    operator's when those cannot be told (its name may say whose it is)."""
    match = loaded.policy.match
    if not (match.tenants or match.bots):
        return [None]
    owners = set(match.tenants)
    for bot in match.bots:
        cfg = settings.bots.get(bot)
        owners.add(cfg.tenant if cfg is not None else DEFAULT_TENANT)
    return [*sorted(owners)]


def shown_actor(status: ReloadStatus, owner: str | None) -> str | None:
    """The reloading key's name in a record ``owner``'s auditors read: a tenant's key is
    named to its own tenant only; the operator's everywhere."""
    if status.actor_tenant in (None, DEFAULT_TENANT) or status.actor_tenant == owner:
        return status.actor
    return None


def audit_options(settings: Settings) -> AuditOptions:
    """What the audit trail needs from the settings, as plain values."""
    witness = settings.audit_witness
    return AuditOptions(
        db_path=audit_db_path(settings),
        url=settings.audit_url,
        secret=settings.audit_key,
        previous=tuple(settings.audit_previous_keys),
        key_file=str(audit_key_file_path(settings)),
        key_provider=settings.audit_key_provider,
        generate_key=True,
        synchronous=settings.audit_synchronous,
        witness_file=str(witness.file) if witness and witness.file else None,
        witness_url=witness.url if witness else None,
        witness_interval_s=witness.interval.total_seconds() if witness else 300.0,
    )


def retention_ttls(settings: Settings) -> KeyTtls:
    """Redis TTLs from the retention settings (the prune raises them to policy look-backs)."""
    r = settings.retention
    return KeyTtls(messages=r.messages, risk=r.risk, records=r.records)


def _warm_floor() -> None:
    """Load the self-harm floor's word lists now, not on the first decision (a second)."""
    from classifiers.floor import default_floor

    default_floor()


def _public(state: str) -> str:
    """``failed: <Type>: <message>`` as ``failed: <Type>`` (the message is in the log)."""
    return ":".join(state.split(":", 2)[:2])


def _assessor(name: str) -> Assessor:
    if name not in ASSESSORS:
        raise ValueError(f"unknown assessor {name!r}; choose one of {sorted(ASSESSORS)}")
    return ASSESSORS[name]()
