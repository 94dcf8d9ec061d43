"""HTTP routes, one module per audience: outreach, events, webhooks, proxy, operations."""
