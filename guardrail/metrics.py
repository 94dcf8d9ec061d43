"""Prometheus metrics, one registry per app so several apps (tests, replicas) never clash."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.exposition import generate_latest

from guardrail.models import Decision
from guardrail.stages import CLOCK

DISCLOSURE_RULE: Final = "disclosure"
"""Its rewrites carry (trigger, audience) labels (:mod:`guardrail.rules.disclosure`)."""
MULTIPROC_ENV: Final = "PROMETHEUS_MULTIPROC_DIR"
"""prometheus-client's multiprocess mode: under ``serve --workers`` each worker writes its
metrics under this folder and ``/metrics`` adds up every worker's (``guardrail.api.ops``)."""


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.rule_label: Callable[[str], str] = str
        """A reason's rule id as a label (a shadow candidate's may name a tenant's policy:
        the gateway sets :meth:`guardrail.policy.holder.PolicyHolder.rule_label`)."""
        self.decisions = Counter(
            "guardrail_decisions", "Outreach decisions", ["verdict", "kind"], registry=self.registry
        )
        self.rules = Counter(
            "guardrail_rule_fired",
            "Rules that fired, by effect (block, defer, shadow, info)",
            ["rule", "effect"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "guardrail_decision_seconds",
            "Time to decide one outreach request",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=self.registry,
        )
        self.events = Counter(
            "guardrail_events", "Inbound events", ["type", "outcome"], registry=self.registry
        )
        self.deliveries = Counter(
            "guardrail_deliveries",
            "Upstream deliveries",
            ["adapter", "status"],
            registry=self.registry,
        )
        self.crisis = Counter(
            "guardrail_crisis_referrals",
            "User messages at crisis level (review notified, help in the next reply)",
            ["level"],
            registry=self.registry,
        )
        self.disclosures = Counter(
            "guardrail_disclosures",
            "AI disclosures in decided messages, by policy, trigger (start of an interaction "
            "or cadence) and audience (adult or minor)",
            ["policy", "trigger", "audience"],
            registry=self.registry,
        )
        CLOCK.register(self.registry)
        self.store_up = Gauge(
            "guardrail_store_up",
            "1 while the state store answers",
            registry=self.registry,
            multiprocess_mode="livemostrecent",  # serve --workers: the latest probe of any worker
        )

    def observe(self, decision: Decision, seconds: float) -> None:
        self.decisions.labels(decision.verdict.value, decision.kind.value).inc()
        for reason in decision.reasons:
            self.rules.labels(self.rule_label(reason.rule), reason.effect).inc()
            if reason.rule == DISCLOSURE_RULE and reason.effect == "rewrite":
                trigger, audience = (*reason.labels, "unknown", "unknown")[:2]
                self.disclosures.labels(reason.policy, trigger, audience).inc()
        self.latency.observe(seconds)


def http_registry() -> CollectorRegistry:
    """The app's own registry: per-route HTTP metrics (prometheus-fastapi-instrumentator) and
    the process's (``process_*``). Apart from the gateway's, which a lifespan builds anew,
    because the instrumentation is wired when the app is created."""
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)  # process_cpu_seconds_total, memory, open fds
    PlatformCollector(registry=registry)
    return registry


def exposition(*registries: CollectorRegistry) -> bytes:
    """The text exposition of several registries, one after the other."""
    return b"".join(generate_latest(r) for r in registries)
