"""The ``kube`` console entry point: a fast path for the commands run most, else the full CLI.

``kube --help``, ``kube search``, ``kube info`` and ``kube update`` are run more
than anything else and must answer in well under a tenth of a second (an update
with nothing new in a little more); importing Click and Typer and building the
command tree costs most of that (about 40 ms), which an install pays too. So the
plain forms (``--help``/``-h``; ``search PATTERN [-r] [-o table|text|json]``;
``info NAME [--installed] [-o table|text|json]``; ``update [-o table|text|json]``;
``install FORMULA`` with any of ``-n NS``, ``--name RELEASE``, ``-o FORMAT``,
``--dry-run`` and ``--wait``; ``uninstall RELEASE`` with any of ``-n NS``, ``-o
FORMAT`` and ``--wait``; ``template FORMULA`` with any of ``-n NS``, ``--name
RELEASE`` and ``-o FORMAT``) are recognised here and run without them, through the
same functions the Typer commands call (``kube.cli.readonly``,
``kube.cli.updating``, ``kube.cli.installing``, ``kube.cli.uninstalling``), with
the same error boundary: a
``KubeError`` is one line and its exit code, a closed pipe 141, Ctrl-C 130.
Anything else (another option, an option given twice, ``--`` or an option spelled
another way, a bad value) goes to ``kube.cli.app``, which parses it with Click
exactly as before, errors and all.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kube.cli.choices import OutputFormat

#: What ``-o`` may say on the fast path (any case); everything else is Click's to refuse.
_FORMATS = ("table", "text", "json")
#: What ``-o`` of install and uninstall may say there (``kube.cli.choices.OutputFormat``): the
#: command itself refuses those it cannot print, as it does under Click.
_CHANGING_FORMATS = ("table", "text", "json", "yaml", "github")
_OUTPUT = {"-o": "output", "--output": "output"}
_NAMESPACE = {"-n": "namespace", "--namespace": "namespace"}
#: The options the fast path takes, by command: those that take a value and the flags, each
#: by the parameter it sets, and what ``-o`` may say.
_OPTIONS: dict[str, tuple[dict[str, str], dict[str, str], tuple[str, ...]]] = {
    "search": (_OUTPUT, {"-r": "regex", "--regex": "regex"}, _FORMATS),
    "info": (_OUTPUT, {"--installed": "installed"}, _FORMATS),
    "install": (
        {**_NAMESPACE, "--name": "name", **_OUTPUT},
        {"--dry-run": "dry_run", "--wait": "wait"},
        _CHANGING_FORMATS,
    ),
    "uninstall": ({**_NAMESPACE, **_OUTPUT}, {"--wait": "wait"}, _CHANGING_FORMATS),
    "template": ({**_NAMESPACE, "--name": "name", **_OUTPUT}, {}, _CHANGING_FORMATS),
}


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


def _parse(command: str, rest: list[str]) -> dict[str, str | bool] | None:
    """The parameters of a plain search, info, install, uninstall or template (``_OPTIONS``):
    ``argument``, the one positional argument, and each option given; None for anything else."""
    valued, flags, formats = _OPTIONS[command]
    given: dict[str, str | bool] = {}
    positional: list[str] = []
    i = 0
    while i < len(rest):
        arg = rest[i]
        key = valued.get(arg) or flags.get(arg)
        if key is None:
            if arg.startswith("-"):
                return None  # another option, --opt=value, -nNS, --, --help: Click's
            positional.append(arg)
        elif key in given:
            return None  # given twice: Click says what that means
        elif arg in flags:
            given[key] = True
        elif i + 1 < len(rest) and rest[i + 1].strip() and not rest[i + 1].startswith("-"):
            given[key] = rest[i + 1]
            i += 1
        else:
            return None  # no value, an empty one, or one like an option: Click's error
        i += 1
    output = given.get("output")
    if len(positional) != 1 or (isinstance(output, str) and output.lower() not in formats):
        return None
    return {"argument": positional[0], **given}


def _parse_update(rest: list[str]) -> dict[str, str | bool] | None:
    """A plain ``kube update`` (``-o``/``--output`` aside: its default is text there, json
    nowhere); its ``--repo``, ``--branch`` and ``--reset`` forms are Click's."""
    if not rest:
        return {}
    if len(rest) == 2 and rest[0] in _OUTPUT and rest[1].lower() in _FORMATS:
        return {"output": rest[1]}
    return None


def _work(argv: list[str]) -> Callable[[], None] | None:
    """What the fast path runs for ``argv``; None when it is the full CLI's."""
    command = argv[0] if argv else ""
    if command == "update":
        given = _parse_update(argv[1:])
    elif command in _OPTIONS:
        given = _parse(command, argv[1:])
    else:
        return None
    return None if given is None else functools.partial(_RUNS[command], given)


def _search(given: dict[str, str | bool]) -> None:
    from kube.cli import readonly

    readonly.search(str(given["argument"]), regex=given.get("regex") is True, as_json=_is_json(given))


def _info(given: dict[str, str | bool]) -> None:
    from kube.cli import readonly

    readonly.info(str(given["argument"]), as_json=_is_json(given), installed=given.get("installed") is True)


def _update(given: dict[str, str | bool]) -> None:
    from kube.cli.updating import run_update

    run_update(None, None, reset=False, as_json=_is_json(given))


def _install(given: dict[str, str | bool]) -> None:
    # The install's first read, and its first wave waiting, before the rest of kube is imported.
    from kube.k8s.kubectl import Kubectl
    from kube.k8s.release_names import install_calls_ahead

    install_calls_ahead(Kubectl(), _text(given.get("namespace")), dry_run=given.get("dry_run") is True)
    from kube.cli import installing

    installing.run(
        str(given["argument"]),
        namespace=_text(given.get("namespace")),
        name=_text(given.get("name")),
        output=_format(given.get("output")),
        dry_run=given.get("dry_run") is True,
        wait=given.get("wait") is True,
    )


def _template(given: dict[str, str | bool]) -> None:
    from kube.cli import installing

    installing.template(
        str(given["argument"]),
        namespace=_text(given.get("namespace")),
        name=_text(given.get("name")),
        output=_format(given.get("output")),
    )


def _uninstall(given: dict[str, str | bool]) -> None:
    from kube.k8s.kubectl import Kubectl
    from kube.k8s.release_names import uninstall_reads_ahead

    uninstall_reads_ahead(Kubectl())
    from kube.cli import uninstalling

    uninstalling.run(
        str(given["argument"]),
        namespace=_text(given.get("namespace")),
        output=_format(given.get("output")),
        wait=given.get("wait") is True,
    )


_RUNS: dict[str, Callable[[dict[str, str | bool]], None]] = {
    "search": _search,
    "info": _info,
    "update": _update,
    "install": _install,
    "uninstall": _uninstall,
    "template": _template,
}


def _text(value: str | bool | None) -> str | None:
    return value if isinstance(value, str) else None


def _is_json(given: dict[str, str | bool]) -> bool:
    output = _text(given.get("output"))
    return output is not None and output.lower() == "json"


def _format(value: str | bool | None) -> OutputFormat | None:
    from kube.cli.choices import OutputFormat

    return OutputFormat(value.lower()) if isinstance(value, str) else None


def _print_help() -> int:
    """``kube --help`` without the console module (its import would cost the fast path): the
    text is ASCII, so only a stdout that is closed or cannot be written needs a word."""
    from kube.cli.commands import EXIT_BROKEN_PIPE, _silence_stdout

    if sys.stdout is None:
        return EXIT_BROKEN_PIPE  # started with stdout closed (`>&-`): as a reader that went away
    try:
        sys.stdout.write(_help_text())
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except OSError as exc:
        _silence_stdout()
        if sys.stderr is not None:
            sys.stderr.write(f"Error: cannot write output: {exc.strerror or exc}\n")
        return 1
    return 0


def _run(work: Callable[[], None]) -> int:
    try:
        work()
        sys.stdout.flush()
        return 0
    except BrokenPipeError:
        from kube.cli.commands import EXIT_BROKEN_PIPE, _silence_stdout

        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except (Exception, KeyboardInterrupt) as exc:  # worded as the full CLI words it
        from kube.cli.commands import _silence_stdout, report
        from kube.core.errors import OutputError

        if isinstance(exc, OutputError):
            # What is still buffered would fail again at the interpreter's last flush.
            _silence_stdout()
        return report(exc)


def main() -> None:
    argv = sys.argv[1:]
    if argv in (["--help"], ["-h"]) and not os.environ.get("KUBE_NO_FAST_PATH"):
        sys.exit(_print_help())
    from kube.cli import console

    console.prepare_streams()
    work = None if os.environ.get("KUBE_NO_FAST_PATH") else _work(argv)
    if work is None:
        from kube.cli.app import main as full

        full()
        return
    from kube.core import signals
    from kube.core.errors import ExitCode

    signals.install()
    try:
        code = _run(work)
    finally:
        if signals.received() is not None:
            sys.exit(signals.exit_code(ExitCode.INTERRUPTED))
    sys.exit(code)
