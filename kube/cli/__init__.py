"""The command line: Typer app, options, one module per command group; the only layer that prints."""
