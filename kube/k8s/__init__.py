"""Kubernetes: the one object model, kubectl (the only module that knows its flags), records, waiting."""
