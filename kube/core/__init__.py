"""Errors and exit codes, paths, the one process helper, text safety: what every layer uses."""
