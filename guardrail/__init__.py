"""guardrail: a safety and wellbeing gateway for proactive AI bot outreach."""

__version__ = "0.1.0"
