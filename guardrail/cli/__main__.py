"""``python -m guardrail.cli``: the ``guardrail`` command."""

from guardrail.cli import app

app()
