"""Inbound platform webhooks: verify who sent them, turn them into guardrail events."""
