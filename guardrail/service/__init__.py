"""Use cases: what guardrail does, apart from how it is asked (HTTP, a proxy, a CLI).

- :mod:`~guardrail.service.outreach`: decide an outbound message, record it, tell
  reviewers, deliver it.
- :mod:`~guardrail.service.events`: ingest what users did (:mod:`~guardrail.service.ingest`
  classifies and applies one event), and the crisis protocol it may start
  (:mod:`~guardrail.service.crisis`).
- :mod:`~guardrail.service.classify`: classify texts on request.
- :mod:`~guardrail.service.shadow` and :mod:`~guardrail.service.policy_tests`: run the
  pipeline for candidate policies and for a policy's own tests.
- :mod:`~guardrail.service.access` (who may do what), :mod:`~guardrail.service.audit`
  (appends before an answer), :mod:`~guardrail.service.profile` (the user's recorded facts).

They raise :mod:`~guardrail.service.errors`, never HTTP exceptions; the edges map them.
"""
