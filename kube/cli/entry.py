"""The ``kube`` console entry point: a fast path for the read-only commands, else the full CLI.

``kube --help``, ``kube search``, ``kube info`` and ``kube update`` are run more
than anything else and must answer in well under a tenth of a second (an update
with nothing new in a little more); importing Click and Typer and building the
command tree costs most of that. So the plain forms (``--help``/``-h``; ``search
PATTERN [-r] [-o table|text|json]``; ``info NAME [--installed] [-o
table|text|json]``; ``update [-o table|text|json]``) are recognised here and run without them, through the
same functions the Typer commands call (``kube.cli.readonly``), with the same
error boundary: a ``KubeError`` is one line and its exit code, a closed pipe
141, Ctrl-C 130. Anything else (another option, ``--`` or an option spelled
another way, a bad value) goes to ``kube.cli.app``, which parses it with Click
exactly as before, errors and all.
"""

from __future__ import annotations

import os
import sys

#: What ``-o`` may say on the fast path (any case); everything else is Click's to refuse.
_FORMATS = ("table", "text", "json")


def _help_text(columns: int | None = None) -> str:
    """``kube --help`` exactly as Click formats ``kube.cli.app.KubeGroup`` (tests/test_cli.py compares)."""
    import shutil
    import textwrap

    from kube.cli.commands import COMMANDS, HELP

    if columns is None:
        columns = shutil.get_terminal_size().columns
    width = max(min(columns, 80) - 2, 50)
    lines = ["Usage: kube [OPTIONS] COMMAND [ARGS]...", ""]
    lines += textwrap.wrap(HELP, width, initial_indent="  ", subsequent_indent="  ")
    lines += ["", "Options:", "  --version   Print the version and exit."]
    lines += ["  -h, --help  Show this message and exit.", "", "Commands:"]
    longest = max(len(name) for name in COMMANDS)
    limit = width - 6 - longest
    for name, entry in COMMANDS.items():
        lines.append(f"  {name:<{longest}}  {_short_help(entry.help, limit)}".rstrip())
    return "\n".join(lines) + "\n"


def _short_help(text: str, limit: int) -> str:
    """Click's shortening of a command's help line (first sentence, then ``...``)."""
    import textwrap

    words = text.split()
    for i, word in enumerate(words):
        if word.endswith(".") and (i == len(words) - 1 or not words[i + 1][0].islower()):
            words = words[: i + 1]
            break
    joined = " ".join(words)
    if len(joined) <= limit:
        return joined
    return textwrap.shorten(joined, limit, placeholder="...", break_on_hyphens=False)


def _parse(argv: list[str]) -> tuple[str, str, bool, bool] | None:
    """``(command, argument, flag, as_json)`` for a plain search, info or update; None for
    anything else. ``flag`` is ``-r`` for search and ``--installed`` for info."""
    if argv[:1] == ["update"]:
        return _parse_update(argv[1:])
    if len(argv) < 2 or argv[0] not in ("search", "info"):
        return None
    command, rest = argv[0], argv[1:]
    positional: list[str] = []
    flag = False
    fmt = "table"
    i = 0
    while i < len(rest):
        arg = rest[i]
        if (command, arg) in (("search", "-r"), ("search", "--regex"), ("info", "--installed")):
            flag = True
        elif arg in ("-o", "--output") and i + 1 < len(rest):
            fmt = rest[i + 1].lower()
            i += 1
        elif arg.startswith("-"):
            return None  # --output=x, -ojson, --help, -n, --context, --: Click's
        else:
            positional.append(arg)
        i += 1
    if len(positional) != 1 or fmt not in _FORMATS:
        return None
    return command, positional[0], flag, fmt == "json"


def _parse_update(rest: list[str]) -> tuple[str, str, bool, bool] | None:
    """A plain ``kube update`` (``-o``/``--output`` aside: its default is text there, json
    nowhere); its ``--repo``, ``--branch`` and ``--reset`` forms are Click's."""
    if not rest:
        return "update", "", False, False
    if len(rest) == 2 and rest[0] in ("-o", "--output") and rest[1].lower() in _FORMATS:
        return "update", "", False, rest[1].lower() == "json"
    return None


def _run(command: str, argument: str, flag: bool, as_json: bool) -> int:
    from kube.cli import readonly

    try:
        if command == "update":
            from kube.cli.updating import run_update

            run_update(None, None, reset=False, as_json=as_json)
        elif command == "search":
            readonly.search(argument, regex=flag, as_json=as_json)
        else:
            readonly.info(argument, as_json=as_json, installed=flag)
        sys.stdout.flush()
        return 0
    except BrokenPipeError:
        from kube.cli.commands import EXIT_BROKEN_PIPE, _silence_stdout

        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except (Exception, KeyboardInterrupt) as exc:  # worded as the full CLI words it
        from kube.cli.commands import report

        return report(exc)


def main() -> None:
    argv = sys.argv[1:]
    if argv in (["--help"], ["-h"]) and not os.environ.get("KUBE_NO_FAST_PATH"):
        sys.stdout.write(_help_text())
        sys.stdout.flush()
        return
    plain = None if os.environ.get("KUBE_NO_FAST_PATH") else _parse(argv)
    if plain is None:
        from kube.cli.app import main as full

        full()
        return
    from kube.core import signals
    from kube.core.errors import ExitCode

    signals.install()
    try:
        code = _run(*plain)
    finally:
        if signals.received() is not None:
            sys.exit(signals.exit_code(ExitCode.INTERRUPTED))
    sys.exit(code)
