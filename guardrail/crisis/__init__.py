"""The crisis protocol's resources: helplines by jurisdiction and language."""

from guardrail.crisis.resources import CrisisResource, ResourceRegistry, default_registry

__all__ = ["CrisisResource", "ResourceRegistry", "default_registry"]
