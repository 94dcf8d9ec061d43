"""End-to-end tests: the gateway as deployed, with the shipped classifier stack."""
