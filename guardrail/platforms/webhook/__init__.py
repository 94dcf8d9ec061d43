"""A plain JSON webhook as the upstream: the operator's own delivery service."""
