"""Run a formula's ``scripts/pre-install.py`` in its staged copy (``kube.install.staging``).

The hook runs as ``<kube's python> -I scripts/pre-install.py`` (isolated mode:
no PYTHON* variables, no user site-packages, the script's directory not on
``sys.path``), in the staged copy, with a short environment: PATH, HOME, USER,
LOGNAME, SHELL, TERM, COLORTERM, NO_COLOR, LANG, LANGUAGE, LC_*, TZ and the
``KUBE_*`` variables of the hook contract; TMPDIR points at a private directory
removed afterwards. Nothing else of the caller's environment (cloud
credentials, KUBECONFIG...) reaches it.

Values: the hook receives the merged values in ``KUBE_VALUES_FILE`` and may
write a JSON object to ``KUBE_VALUES_OUT``; that object is deep-merged over
the values, so what the hook returns wins over K3.yaml, ``--values`` and
``--set``. A hook that must respect a user's choice reads it from
``KUBE_VALUES_FILE`` and returns it unchanged (or does not return that key).
On ``kube upgrade`` the hook also gets ``KUBE_PREVIOUS_VALUES``: a JSON file of the
values after the hook of the revision being upgraded (what it was given and what it
returned; ``{}`` when that revision kept none), so
it can keep a generated password instead of making a new one, or refuse an upgrade
path by exiting non-zero with a message. At install the variable is not set.

Returned values are bounded: at most ``VALUES_OUT_LIMIT`` bytes of JSON, an
object, nested at most ``VALUES_DEPTH_LIMIT`` deep, without NaN or Infinity.

Interactive runs (the default) share kube's terminal, so the hook can ask
questions; its output is not captured, and a failure says it is above.
Otherwise stdin is /dev/null and the output is captured (at most
``OUTPUT_LIMIT`` bytes of each stream are kept, the end): ``HookResult.output``
on success, the last 20 lines in ``HookError.output`` on failure, decoded
with invalid UTF-8 replaced and, in errors, control characters escaped.

Containment (``kube.containment``): on Linux every process the hook starts
stays in kube's process tree, even one that calls ``setsid()``, double-forks
or drops its environment, and all of them are killed when the hook ends, by
exiting, failing, timing out, Ctrl-C, SIGTERM or SIGHUP. Reading the output
has the same deadline as the hook. Elsewhere only the hook's process group
and the processes carrying its environment marker are killed
(``HookResult.containment`` says which).

Temporary files: the values given to the hook (``KUBE_VALUES_FILE``,
``KUBE_PREVIOUS_VALUES``), the ones it returns (``KUBE_VALUES_OUT``), its TMPDIR and its throw-away HOME live
in one private directory (0700, files 0600; the hook runs with umask 077) next
to the staged copy, removed on every way out.

Python requirements: K3.yaml may say what the hook needs of Python, ``hook: {python:
">=3.9", requires: ["cryptography>=41"]}`` (PEP 440 / PEP 508, read by ``packaging``).
Before the hook runs, the interpreter's version is checked against ``python`` and each
requirement whose marker holds against the distributions the hook's ``-I`` interpreter
sees (asked of that interpreter: isolated mode leaves out user site-packages, so
kube's own view could count a distribution the hook cannot import). What is missing
stops the install with one line and the ``pip install`` that fixes it (a
``HookError``); the hook never starts. ``--no-hooks`` skips the check with the hook.

After the hook the staged tree is checked again: a symlink or special file it
left behind stops the install.

Sandbox (``sandbox=True``): bubblewrap (no network, no capabilities, a new PID
namespace that dies with kube, the whole filesystem read-only except the staged copy
and the private directory, HOME a fresh empty directory inside that, the home
directories hidden behind empty read-only ones but for the interpreter and packages
the hook runs on). Where bubblewrap is missing, util-linux's ``unshare`` gives the
same: its user, network, mount, PID, IPC and UTS namespaces, then
``kube.install.sandbox_init`` hides the homes, makes every mount read-only but those
two directories (``unshare -rn`` alone would leave the filesystem writable) and drops
every capability of the namespace, which could otherwise remount them read-write. A
trial run shows which works, a remount and writing outside included.
With neither, ``SandboxUnavailable`` (a HookError) is raised: a caller that asked
for a sandbox never silently gets a weaker one.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import platform
import shlex
import shutil
import signal
import stat
import sys
import tempfile
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kube.core import containment, process
from kube.core.errors import FormulaError, HookError, ProcessError, ProcessTimeout
from kube.core.findings import Finding, Severity
from kube.core.text import safe
from kube.formula import hook_needs
from kube.formula.hook_needs import HOOK
from kube.formula.values import deep_merge
from kube.install.staging import has_hook

if TYPE_CHECKING:
    from packaging.requirements import Requirement

    from kube.formula.load import Formula

#: Largest JSON a hook may return.
VALUES_OUT_LIMIT = 1024 * 1024
#: Deepest nesting of the values a hook returns (deeper is a mistake or an attack on kube's
#: recursive merge and render), and the most bytes of each output stream kept.
VALUES_DEPTH_LIMIT = 64
OUTPUT_LIMIT = 1024 * 1024
_RUN_MARKER = "KUBE_HOOK_RUN"
_ENV_KEEP = (
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "TERM",
    "COLORTERM",
    "NO_COLOR",
    "LANG",
    "LANGUAGE",
    "TZ",
)


class SandboxUnavailable(HookError):
    """bubblewrap is missing or does not work on this machine."""


@dataclass(frozen=True)
class HookResult:
    """``ran``: whether the formula has a hook; ``values``: the values after it;
    ``output``: what it printed (only when run non-interactively);
    ``sandbox``: ``"bwrap"``, ``"unshare"`` or ``""`` for none; ``containment``: how its processes
    were held (``"subreaper"``, or ``"process group"`` where a hook can escape)."""

    ran: bool
    values: dict[str, Any] = field(hash=False)
    output: str = ""
    sandbox: str = ""
    containment: str = ""


def run_pre_install(
    staged_dir: Path,
    *,
    formula: Formula,
    namespace: str,
    values: Mapping[str, Any],
    timeout: float | None,
    sandbox: bool = False,
    interactive: bool = True,
    previous_values: Mapping[str, Any] | None = None,
) -> HookResult:
    """Run the staged formula's pre-install hook, if it has one; see the module docstring.
    ``previous_values`` (an upgrade): the previous revision's values after its hook."""
    hook = staged_dir / HOOK
    if not has_hook(staged_dir):
        return HookResult(ran=False, values=deep_merge({}, values))
    who = f"pre-install hook of {formula.name}"
    if hook.is_symlink() or not hook.is_file():
        raise HookError(f"the {who} ({HOOK.as_posix()}) is not a regular file")
    if formula.hook is not None:
        check_needs(formula, who)
    method = _sandbox_method() if sandbox else ""
    if sandbox and not method:
        raise SandboxUnavailable(
            f"cannot sandbox the {who}: neither bubblewrap (bwrap) nor unshare with user namespaces"
            " works here, and without them the hook could write wherever you can",
            hint="install bubblewrap (apt-get install bubblewrap), or run without --sandbox",
        )
    # Next to the staged copy: a caller that staged into its own private directory (kube
    # install) then has every file that holds values under one directory it removes.
    private = Path(tempfile.mkdtemp(prefix="kube-hook-", dir=staged_dir.parent))
    try:
        values_in, values_out = private / "values.json", private / "values-out.json"
        _write_private(values_in, json.dumps(values, default=str).encode("utf-8"))
        (private / "tmp").mkdir(mode=0o700)
        home = private / "home"
        home.mkdir(mode=0o700)
        env = _environment(
            formula, namespace, values_in, values_out, private / "tmp", home if method else None
        )
        if previous_values is not None:
            previous_in = private / "previous-values.json"
            _write_private(previous_in, json.dumps(previous_values, default=str).encode("utf-8"))
            env["KUBE_PREVIOUS_VALUES"] = str(previous_in)
        env[_RUN_MARKER] = uuid.uuid4().hex
        argv = [sys.executable, "-I", str(HOOK)]
        if method:
            argv = _wrap(method, argv, writable=[staged_dir.resolve(), private.resolve()])
        try:
            with containment.contained() as held:
                output = _run(argv, who, staged_dir, env, timeout, interactive)
        finally:
            _kill_leftovers(env[_RUN_MARKER])
        returned = _read_values_out(values_out, who)
    finally:
        shutil.rmtree(private, ignore_errors=True)
    _recheck(staged_dir, who)
    return HookResult(
        ran=True,
        values=deep_merge(values, returned),
        output=output,
        sandbox=method,
        containment=containment.SUBREAPER if held else containment.PROCESS_GROUP,
    )


def check_needs(formula: Formula, who: str) -> None:
    """Raise HookError when the interpreter or the installed distributions do not give the hook
    what ``hook:`` of K3.yaml says it needs (see the module docstring); FormulaError when a
    field of it does not parse (``kube lint`` reports the same at its line)."""
    needs = formula.hook
    if needs is None:
        return
    problems = hook_needs.problems(needs)
    if problems:
        found = [
            Finding(
                str(formula.k3_path), p.line, "hook-requirement", f"{p.where}: {p.message}", Severity.ERROR
            )
            for p in problems
        ]
        raise FormulaError(str(found[0]), findings=found, hint=f"run `kube lint` on {formula.name}")
    running = platform.python_version()
    if needs.python is not None:
        spec = hook_needs.python_spec(needs.python)
        if not spec.contains(running, prereleases=True):
            raise HookError(
                f"{who} needs Python {spec}, and kube runs under Python {running}"
                f" ({sys.executable}); run kube with a Python {spec}",
                hint=_SKIP_HINT,
            )
    wanted = [
        r for r in map(hook_needs.requirement, needs.requires) if r.marker is None or r.marker.evaluate()
    ]
    if not wanted:
        return
    path = list(_hook_path())
    missing = [(req, why) for req in wanted if (why := _unmet(req, path)) is not None]
    if not missing:
        return
    listed = ", ".join(f"{hook_needs.install_text(req)} ({why})" for req, why in missing)
    pip = " ".join(
        [shlex.quote(sys.executable), "-m", "pip", "install"]
        + [shlex.quote(hook_needs.install_text(req)) for req, _ in missing]
    )
    raise HookError(f"{who} needs {listed}; install with: {pip}", hint=_SKIP_HINT)


_SKIP_HINT = "--no-hooks skips the hook (its values must then come from --set or --values)"


def _unmet(req: Requirement, path: list[str]) -> str | None:
    """Why the distributions on ``path`` do not satisfy ``req``, or None when they do."""
    from importlib import metadata

    # The first one found is the one ``import`` would load, as for importlib.metadata.version().
    dist = next(iter(metadata.distributions(name=req.name, path=path)), None)
    version = dist.version if dist is not None else None
    if version is None:
        return "not installed"
    if req.specifier and not req.specifier.contains(version, prereleases=True):
        return f"{version} is installed"
    return None


@functools.cache
def _hook_path() -> tuple[str, ...]:
    """``sys.path`` of the interpreter the hook runs under (``-I``: no user site, no PYTHONPATH)."""
    probe = [sys.executable, "-I", "-c", "import json, sys; print(json.dumps(sys.path))"]
    try:
        path = json.loads(process.run(probe, timeout=30).stdout)
    except ProcessError as exc:
        raise HookError(f"cannot ask {sys.executable} where its packages are: {exc.message}") from None
    except ValueError:
        path = None
    if not isinstance(path, list) or not all(isinstance(p, str) for p in path):
        raise HookError(f"{sys.executable} -I did not say where its packages are")
    return tuple(path)


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _environment(
    formula: Formula, namespace: str, values_in: Path, values_out: Path, tmp: Path, home: Path | None
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in _ENV_KEEP or k.startswith("LC_")}
    env.setdefault("PATH", os.defpath)
    env.update(
        KUBE_FORMULA=formula.name,
        KUBE_VERSION=str(formula.version),
        KUBE_NAMESPACE=namespace,
        KUBE_VALUES_FILE=str(values_in),
        KUBE_VALUES_OUT=str(values_out),
        TMPDIR=str(tmp),
    )
    if home is not None:
        env["HOME"] = str(home)
    return env


def _run(
    argv: list[str], who: str, cwd: Path, env: dict[str, str], timeout: float | None, interactive: bool
) -> str:
    try:
        done = process.run(
            argv,
            cwd=cwd,
            env=env,
            timeout=timeout,
            check=False,
            capture=not interactive,
            keep=OUTPUT_LIMIT,
            umask=0o077,
        )
    except ProcessTimeout as exc:
        limit = f"{timeout:g}s" if timeout is not None else "its time limit"
        raise HookError(
            f"{who} did not finish within {limit}; raise it with --hook-timeout",
            output=process.tail(exc.stdout + exc.stderr),
            hint="--no-hooks skips the hook (its values must then come from --set or --values)",
        ) from None
    except ProcessError as exc:
        raise HookError(f"cannot run the {who}: {exc.message}", hint=exc.hint) from None
    output = done.stdout + done.stderr
    if done.returncode != 0:
        status = (
            f"was killed by signal {-done.returncode}"
            if done.returncode < 0
            else f"failed with exit code {done.returncode}"
        )
        if interactive:
            raise HookError(f"{who} {status} (its output is above)")
        raise HookError(f"{who} {status}: {process.last_line(output)}", output=process.tail(output, 20))
    return output


def _kill_leftovers(marker: str) -> None:
    """Kill what the hook started and left running after it exited.

    kube.process ends the hook's whole process group on a timeout or Ctrl-C, but
    not after a normal exit; a daemon the hook forked would outlive the install.
    Such processes are found by the marker in their environment (Linux /proc;
    elsewhere this does nothing, and bubblewrap's PID namespace covers it).
    """
    needle = f"{_RUN_MARKER}={marker}".encode()
    proc = Path("/proc")
    if not proc.is_dir():
        return
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if needle in environ.split(b"\0"):
            with contextlib.suppress(OSError):
                os.kill(int(entry.name), signal.SIGKILL)


def _read_values_out(path: Path, who: str) -> dict[str, Any]:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise HookError(f"{who} wrote KUBE_VALUES_OUT that cannot be read: {exc.strerror}") from None
    try:
        # fstat before wrapping: io refuses a directory with IsADirectoryError.
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise HookError(f"{who} made KUBE_VALUES_OUT something other than a regular file")
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(VALUES_OUT_LIMIT + 1)
    except OSError as exc:
        raise HookError(f"{who} wrote KUBE_VALUES_OUT that cannot be read: {exc.strerror}") from None
    finally:
        os.close(fd)
    if len(data) > VALUES_OUT_LIMIT:
        raise HookError(f"{who} wrote more than {VALUES_OUT_LIMIT} bytes to KUBE_VALUES_OUT")
    if not data.strip():
        return {}
    try:
        returned = json.loads(data.decode("utf-8"), parse_constant=_refuse_constant)
    except RecursionError:
        raise _too_deep(who) from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise HookError(f"{who} wrote invalid JSON to KUBE_VALUES_OUT: {safe(str(exc))}") from None
    if not isinstance(returned, dict):
        raise HookError(
            f"{who} wrote a JSON {type(returned).__name__} to KUBE_VALUES_OUT; expected an object"
        )
    if _depth(returned) > VALUES_DEPTH_LIMIT:
        raise _too_deep(who)
    from kube.formula.load import RESERVED_VALUES

    if reserved := next((k for k in RESERVED_VALUES if k in returned), None):
        raise HookError(
            f"{who} wrote a value `{reserved}` to KUBE_VALUES_OUT: that name is reserved for kube's own",
            hint="rename that value in scripts/pre-install.py",
        )
    return returned


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _too_deep(who: str) -> HookError:
    return HookError(
        f"{who} wrote values nested more than {VALUES_DEPTH_LIMIT} levels deep to KUBE_VALUES_OUT"
    )


def _depth(value: Any) -> int:
    """How deeply lists and objects nest in ``value`` (iteratively: no recursion to exhaust)."""
    deepest, todo = 0, [(value, 1)]
    while todo:
        item, level = todo.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            if level > VALUES_DEPTH_LIMIT:
                return level
            todo.extend((child, level + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def _recheck(staged_dir: Path, who: str) -> None:
    from kube.formula.load import formula_files

    try:
        formula_files(staged_dir, display_root=staged_dir)
    except FormulaError as exc:
        problem = str(exc.findings[0]) if exc.findings else exc.message
        raise HookError(f"{who} left something unsafe in the formula: {problem.removeprefix('./')}") from None


def _wrap(method: str, argv: list[str], *, writable: list[Path]) -> list[str]:
    hidden, shown = _hidden_homes(writable)
    if method == "unshare":
        return _wrap_unshare(argv, writable=writable, hidden=hidden, shown=shown)
    wrapped = [
        "bwrap",
        "--die-with-parent",
        "--new-session",
        "--unshare-net",
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-uts",
        # Run by root, bubblewrap keeps every capability: the hook could remount / read-write.
        "--cap-drop",
        "ALL",
        "--ro-bind",
        "/",
        "/",
        "--dev",
        "/dev",
        "--proc",
        "/proc",
    ]
    for home in hidden:
        wrapped += ["--tmpfs", home]
    for needed in shown:
        wrapped += ["--ro-bind", needed, needed]
    for path in writable:
        wrapped += ["--bind", str(path), str(path)]
    for home in hidden:
        wrapped += ["--remount-ro", home]  # empty and read-only, as the rest
    return [*wrapped, "--chdir", str(writable[0]), "--", *argv]


def _hidden_homes(writable: Sequence[Path]) -> tuple[list[str], list[str]]:
    """The home directories a sandboxed hook does not see (yours, by your account and by
    ``HOME``; ``/root``; ``/home``: keys, kubeconfigs, tokens), and what it needs under them,
    shown again read-only: the interpreter and the packages it imports (a Python installed in
    a home, as pyenv does). The writable paths are bound over them in any case."""
    import pwd

    candidates = ["/root", "/home", os.environ.get("HOME", "")]
    with contextlib.suppress(KeyError):
        candidates.append(pwd.getpwuid(os.getuid()).pw_dir)
    homes: list[str] = []
    for text in candidates:
        if not text or not os.path.isabs(text) or not os.path.isdir(text):
            continue
        home = os.path.realpath(text)
        if home != "/" and home not in homes:
            homes.append(home)
    # Outermost first, each once: a home inside another (/home/me in /home) is hidden with it.
    homes = sorted((h for h in homes if not any(_within(h, o) for o in homes if o != h)), key=len)
    needed = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.executable)}
    needed.add(os.path.dirname(os.path.realpath(sys.executable)))
    needed.update(os.path.realpath(p) for p in _hook_path() if p)
    kept = [str(w) for w in writable]
    shown = sorted(
        p for p in needed
        if os.path.exists(p) and any(_within(p, h) for h in homes) and not any(_within(p, w) for w in kept)
    )  # fmt: skip
    # Outermost first: bound in that order, the inner ones are already there.
    shown = [p for p in shown if not any(_within(p, o) for o in shown if o != p)]
    return homes, shown


def _within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


# Passes only where it cannot write outside the sandbox's writable paths, even after trying
# to remount / read-write (what a process that kept CAP_SYS_ADMIN could do).
_PROBE = """\
import ctypes, sys
ctypes.CDLL(None, use_errno=True).mount(None, b"/", None, ctypes.c_ulong(32 | 4096), None)
try:
    open(sys.argv[1], "w")
except OSError:
    sys.exit(0)
sys.exit(1)
"""


def _wrap_unshare(
    argv: list[str], *, writable: list[Path], hidden: Sequence[str] = (), shown: Sequence[str] = ()
) -> list[str]:
    """The same sandbox from util-linux's ``unshare``: its namespaces, then ``sandbox_init``
    hides ``hidden`` but ``shown``, makes every mount read-only but ``writable`` (``unshare -rn``
    alone would not) and gives up the capabilities that could undo it."""
    init = Path(__file__).with_name("sandbox_init.py")
    namespaces = ["--user", "--map-root-user", "--net", "--mount", "--pid", "--ipc", "--uts"]
    options = [*(f"--hide={h}" for h in hidden), *(f"--show={s}" for s in shown)]
    return [
        "unshare", *namespaces, "--fork", "--kill-child", "--mount-proc",
        sys.executable, "-I", "-S", str(init), *options, *map(str, writable), "--", *argv,
    ]  # fmt: skip


@functools.cache
def _sandbox_method() -> str:
    """``bwrap``, else ``unshare``, whichever a trial run shows working first; ``""`` when
    neither does (checked once per process). The trial checks that the read-only part holds."""
    return next((method for method in SANDBOXES if sandbox_works(method)), "")


#: The ways to sandbox a hook, best first.
SANDBOXES = ("bwrap", "unshare")


def sandbox_works(method: str) -> bool:
    """Whether ``method`` is installed and a trial run in it cannot write outside."""
    if not shutil.which(method):
        return False
    root = Path(tempfile.mkdtemp(prefix="kube-sandbox-probe-")).resolve()
    outside = root.parent / f"{root.name}-outside"
    try:
        return _works(_wrap(method, [sys.executable, "-I", "-c", _PROBE, str(outside)], writable=[root]))
    finally:
        outside.unlink(missing_ok=True)
        shutil.rmtree(root, ignore_errors=True)


def _works(argv: list[str]) -> bool:
    try:
        return process.run(argv, timeout=10, check=False).ok
    except ProcessError:
        return False
