"""Prometheus metrics, one registry per app so several apps (tests, replicas) never clash."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from guardrail.models import Decision
from guardrail.stages import CLOCK

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
        self.latency.observe(seconds)
