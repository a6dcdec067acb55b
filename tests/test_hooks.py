"""Staging formulas and running pre-install hooks as real subprocesses."""

from __future__ import annotations

import json
import os
import socket
import stat
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kube.core.errors import ExitCode, FormulaError, HookError
from kube.formula.load import Formula, load_formula
from kube.formula.render import render_manifests
from kube.install import hooks
from kube.install.hooks import HookResult, SandboxUnavailable, run_pre_install
from kube.install.staging import stage_formula
from tests.gitrepo import k3, write_tree

CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n"


def make_formula(root: Path, hook: str | None, **files: str) -> Path:
    directory = root / "src" / "shop"
    tree = {
        "K3.yaml": k3("shop", "1.0.0+build.1", values={"user": "app"}),
        "manifests/a.yaml": CONFIGMAP.format(name="a"),
        **files,
    }
    if hook is not None:
        tree["scripts/pre-install.py"] = textwrap.dedent(hook)
    write_tree(directory, tree)
    return directory


def run(
    tmp_path: Path,
    hook: str | None,
    *,
    values: dict[str, Any] | None = None,
    timeout: float = 20,
    sandbox: bool = False,
    interactive: bool = False,
    **files: str,
) -> tuple[HookResult, Path, Formula]:
    src = make_formula(tmp_path, hook, **files)
    formula = load_formula(src)
    staged = stage_formula(src, tmp_path / "stage")
    result = run_pre_install(
        staged,
        formula=formula,
        namespace="prod",
        values=values or dict(formula.values),
        timeout=timeout,
        sandbox=sandbox,
        interactive=interactive,
    )
    return result, staged, formula


def hook_error(tmp_path: Path, hook: str, **kwargs: Any) -> HookError:
    with pytest.raises(HookError) as err:
        run(tmp_path, hook, **kwargs)
    return err.value


def alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "State:\tZ" not in status


# --- staging ----------------------------------------------------------------------------------------


def test_stage_formula_makes_a_private_copy(tmp_path: Path) -> None:
    src = make_formula(tmp_path, "print('hi')\n")
    staged = stage_formula(src, tmp_path / "stage")
    assert staged.parent == tmp_path / "stage"
    assert stat.S_IMODE(staged.stat().st_mode) == 0o700
    assert sorted(p.relative_to(staged).as_posix() for p in staged.rglob("*") if p.is_file()) == [
        "K3.yaml",
        "manifests/a.yaml",
        "scripts/pre-install.py",
    ]
    (staged / "manifests" / "a.yaml").write_text("changed")
    assert (src / "manifests" / "a.yaml").read_text() == CONFIGMAP.format(name="a")


def test_stage_formula_refuses_a_symlink(tmp_path: Path) -> None:
    src = make_formula(tmp_path, None)
    (src / "manifests" / "passwd.yaml").symlink_to("/etc/passwd")
    with pytest.raises(FormulaError, match="symbolic link"):
        stage_formula(src, tmp_path / "stage")
    assert not (tmp_path / "stage").exists() or not any((tmp_path / "stage").iterdir())


# --- running ----------------------------------------------------------------------------------------


def test_formula_without_hook_keeps_its_values(tmp_path: Path) -> None:
    result, _, _ = run(tmp_path, None, values={"a": 1})
    assert result == HookResult(ran=False, values={"a": 1})


def test_hook_gets_the_contract_environment_and_a_short_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "do-not-leak")
    result, staged, _ = run(
        tmp_path,
        """
        import json, os, pathlib
        seen = {k: os.environ.get(k) for k in ("KUBE_FORMULA", "KUBE_VERSION", "KUBE_NAMESPACE")}
        seen["values"] = json.loads(pathlib.Path(os.environ["KUBE_VALUES_FILE"]).read_text())
        seen["cwd"] = os.getcwd()
        seen["leak"] = os.environ.get("AWS_SECRET_ACCESS_KEY")
        seen["values_outside"] = not os.environ["KUBE_VALUES_FILE"].startswith(os.getcwd())
        print(json.dumps(seen))
    """,
        values={"user": "app", "db": {"port": 5432}},
    )
    seen = json.loads(result.output)
    assert seen == {
        "KUBE_FORMULA": "shop",
        "KUBE_VERSION": "1.0.0+build.1",
        "KUBE_NAMESPACE": "prod",
        "values": {"user": "app", "db": {"port": 5432}},
        "cwd": str(staged),
        "leak": None,
        "values_outside": True,
    }
    assert result.ran


def test_hook_values_and_manifests_reach_the_render(tmp_path: Path) -> None:
    result, staged, formula = run(
        tmp_path,
        """
        import json, os, pathlib
        values = json.loads(pathlib.Path(os.environ["KUBE_VALUES_FILE"]).read_text())
        out = {"password": "s3cret", "db": {"host": "pg"}}
        pathlib.Path(os.environ["KUBE_VALUES_OUT"]).write_text(json.dumps(out))
        pathlib.Path("manifests/secret.yaml.tmpl").write_text(
            "apiVersion: v1\\nkind: Secret\\nmetadata:\\n  name: {{ user }}-pw\\n"
            "stringData:\\n  password: {{ password }}\\n  host: {{ db.host }}:{{ db.port }}\\n")
    """,
        values={"user": "app", "db": {"port": 5432}},
    )
    assert result.values == {"user": "app", "password": "s3cret", "db": {"host": "pg", "port": 5432}}
    objs = render_manifests(formula, staged, result.values, namespace="prod")
    assert [o.display for o in objs] == ["ConfigMap/a", "Secret/app-pw"]
    assert objs[1].data["stringData"] == {"password": "s3cret", "host": "pg:5432"}
    assert not (tmp_path / "src" / "shop" / "manifests" / "secret.yaml.tmpl").exists()


def test_hook_returned_values_win_over_given_values(tmp_path: Path) -> None:
    result, _, _ = run(
        tmp_path,
        """
        import os, pathlib
        pathlib.Path(os.environ["KUBE_VALUES_OUT"]).write_text('{"user": "hook", "new": [1]}')
    """,
        values={"user": "cli", "other": True},
    )
    assert result.values == {"user": "hook", "other": True, "new": [1]}


@pytest.mark.parametrize(("written", "message"), [("[1, 2]", "a JSON list"), ("{nope", "invalid JSON")])
def test_hook_values_must_be_a_json_object(tmp_path: Path, written: str, message: str) -> None:
    err = hook_error(
        tmp_path,
        f"""
        import os, pathlib
        pathlib.Path(os.environ["KUBE_VALUES_OUT"]).write_text({written!r})
    """,
    )
    assert message in err.message and "pre-install hook of shop" in err.message


def test_failing_hook_shows_the_end_of_its_output(tmp_path: Path) -> None:
    err = hook_error(
        tmp_path,
        """
        import sys
        for i in range(30):
            print(f"line {i}")
        print("cannot generate key", file=sys.stderr)
        sys.exit(3)
    """,
    )
    assert err.message == "pre-install hook of shop failed with exit code 3: cannot generate key"
    assert err.exit_code == ExitCode.HOOK
    lines = err.output.splitlines()
    assert len(lines) == 20 and lines[-1] == "cannot generate key" and lines[0] == "line 11"


def test_a_failing_hook_that_prints_a_megabyte_on_one_line_gets_a_short_error(tmp_path: Path) -> None:
    err = hook_error(tmp_path, "import sys\nprint('x' * 1_000_000, file=sys.stderr)\nsys.exit(1)\n")
    assert len(err.message) < 2200, len(err.message)
    assert err.message.endswith(f"... ({1_000_000 - 2000:,} more characters)")
    assert len(err.output) < 2200


def test_failing_interactive_hook_points_at_its_output_above(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    err = hook_error(tmp_path, "print('asked the user'); raise SystemExit(1)\n", interactive=True)
    assert err.message == "pre-install hook of shop failed with exit code 1 (its output is above)"
    assert "asked the user" in capfd.readouterr().out


def test_non_interactive_hook_reads_an_empty_stdin(tmp_path: Path) -> None:
    err = hook_error(tmp_path, "input('Password? ')\n", timeout=10)
    assert "EOFError" in err.message


def test_hanging_hook_is_stopped_at_the_timeout(tmp_path: Path) -> None:
    start = time.monotonic()
    err = hook_error(tmp_path, "import time; print('working', flush=True); time.sleep(60)\n", timeout=1)
    assert time.monotonic() - start < 10
    assert err.message == "pre-install hook of shop did not finish within 1s; raise it with --hook-timeout"
    assert err.exit_code == ExitCode.HOOK
    assert "working" in err.output


def wait_dead(pid: int, seconds: float = 5) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.05)
    return False


FORK_CHILD = """
    import os, pathlib, subprocess, sys, time
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pathlib.Path({pidfile!r}).write_text(str(child.pid))
    {then}
"""


def test_timeout_kills_the_children_a_hook_forked(tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    hook_error(tmp_path, FORK_CHILD.format(pidfile=str(pidfile), then="time.sleep(60)"), timeout=1)
    assert wait_dead(int(pidfile.read_text()))


def test_child_left_running_by_a_finished_hook_is_killed(tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    result, _, _ = run(tmp_path, FORK_CHILD.format(pidfile=str(pidfile), then="print('done')"))
    assert result.ran
    assert wait_dead(int(pidfile.read_text()))


def test_symlink_written_by_the_hook_stops_the_install(tmp_path: Path) -> None:
    err = hook_error(tmp_path, "import os; os.symlink('/etc/passwd', 'manifests/passwd.yaml')\n")
    assert "pre-install hook of shop left something unsafe in the formula" in err.message
    assert "manifests/passwd.yaml" in err.message and "symbolic link" in err.message


# --- sandbox ----------------------------------------------------------------------------------------


@pytest.fixture
def listener() -> Iterator[tuple[int, list[bytes]]]:
    """A TCP listener on 127.0.0.1 that records what connects to it."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    received: list[bytes] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            with conn:
                received.append(conn.recv(100))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], received
    stop.set()
    thread.join()
    server.close()


CONNECT = """
    import socket
    with socket.create_connection(("127.0.0.1", {port}), timeout=3) as s:
        s.sendall(b"hello from the hook")
"""


@pytest.fixture(params=hooks.SANDBOXES)
def sandbox_method(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each way kube sandboxes a hook in turn (bubblewrap, and unshare where bubblewrap is
    missing): both are installed here, and choosing one is the only way to test the other."""
    method = str(request.param)
    if not hooks.sandbox_works(method):
        pytest.skip(f"{method} does not work here")
    monkeypatch.setattr(hooks, "_sandbox_method", lambda: method)
    return method


needs_sandbox = pytest.mark.usefixtures("sandbox_method")


@needs_sandbox
def test_sandboxed_hook_has_no_network(tmp_path: Path, listener: tuple[int, list[bytes]]) -> None:
    port, received = listener
    err = hook_error(tmp_path, CONNECT.format(port=port), sandbox=True)
    assert "pre-install hook of shop failed" in err.message
    assert received == []


def test_unsandboxed_hook_reaches_the_listener(tmp_path: Path, listener: tuple[int, list[bytes]]) -> None:
    """The counterpart of the sandbox test: the same hook connects when not sandboxed."""
    port, received = listener
    run(tmp_path, CONNECT.format(port=port))
    deadline = time.monotonic() + 5
    while not received and time.monotonic() < deadline:
        time.sleep(0.05)
    assert received == [b"hello from the hook"]


HOME_WRITER = """
    import json, os, pathlib
    home = pathlib.Path.home()
    (home / ".hook-was-here").write_text("x")
    outcome = {{"home": str(home)}}
    try:
        pathlib.Path({real!r}, ".direct-write").write_text("x")
        outcome["direct"] = "written"
    except OSError as exc:
        outcome["direct"] = type(exc).__name__
    pathlib.Path("manifests/b.yaml").write_text("apiVersion: v1\\nkind: ConfigMap\\nmetadata:\\n  name: b\\n")
    print(json.dumps(outcome))
"""


def test_sandboxed_hook_gets_a_throwaway_home(tmp_path: Path, sandbox_method: str) -> None:
    real_home = Path(os.environ["HOME"])
    result, staged, _ = run(tmp_path, HOME_WRITER.format(real=str(real_home)), sandbox=True)
    outcome = json.loads(result.output)
    assert outcome["home"] != str(real_home)
    assert not (real_home / ".hook-was-here").exists()
    assert not Path(outcome["home"]).exists(), "the throw-away home is removed afterwards"
    assert (staged / "manifests" / "b.yaml").exists(), "the staged copy stays writable"
    assert result.sandbox == sandbox_method
    assert outcome["direct"] == "OSError"
    assert not (real_home / ".direct-write").exists()


@needs_sandbox
def test_sandboxed_hook_and_its_children_end_at_the_timeout(tmp_path: Path) -> None:
    hook = """
        import os, pathlib, time
        if os.fork() == 0:
            time.sleep(2)
            pathlib.Path("survived").write_text("the child outlived the hook")
            os._exit(0)
        time.sleep(60)
    """
    src = make_formula(tmp_path, hook)
    staged = stage_formula(src, tmp_path / "stage")
    with pytest.raises(HookError, match="did not finish within 1s"):
        run_pre_install(
            staged, formula=load_formula(src), namespace="prod", values={}, timeout=1, sandbox=True
        )
    time.sleep(3)
    assert not (staged / "survived").exists()


READ_ONLY_PROBE = """
    import json, os, pathlib, socket, tempfile
    tried = {{}}
    for path in {outside!r}:
        try:
            pathlib.Path(path).write_text("x")
            tried[path] = "written"
        except OSError as exc:
            tried[path] = type(exc).__name__
    pathlib.Path(tempfile.gettempdir(), "scratch").write_text("the hook's own TMPDIR")
    print(json.dumps({{"tried": tried, "pid": os.getpid(), "host": socket.gethostname()}}))
"""


def test_sandboxed_hook_can_write_only_its_copy_and_its_tmp(tmp_path: Path, sandbox_method: str) -> None:
    """Outside the staged copy and the hook's private directory every mount is read-only: the
    root filesystem and /tmp alike; /dev/shm too (bubblewrap gives it a /dev of its own)."""
    outside = [str(tmp_path / "beside-the-formula"), "/tmp/kube-hook-escape"]
    shm = "/dev/shm/kube-hook-escape"
    result, staged, _ = run(tmp_path, READ_ONLY_PROBE.format(outside=[*outside, shm]), sandbox=True)
    report = json.loads(result.output)
    assert {path: report["tried"][path] for path in outside} == {path: "OSError" for path in outside}
    assert report["tried"][shm] == ("written" if sandbox_method == "bwrap" else "OSError")
    assert not any(Path(path).exists() for path in [*outside, shm])
    assert report["pid"] < 10, "a PID namespace of its own"
    assert (staged / "manifests" / "a.yaml").exists()


ESCAPE_PROBE = """
    import ctypes, json, os, pathlib
    libc = ctypes.CDLL(None, use_errno=True)
    status = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
    remounted = libc.mount(None, b"/", None, ctypes.c_ulong(32 | 4096), None) == 0
    tried = {{"caps": status["CapEff"].strip(), "remounted": remounted}}
    try:
        pathlib.Path({outside!r}).write_text("x")
        tried["outside"] = "written"
    except OSError as exc:
        tried["outside"] = type(exc).__name__
    try:
        tried["secret"] = pathlib.Path({secret!r}).read_text()
    except OSError as exc:
        tried["secret"] = type(exc).__name__
    print(json.dumps(tried))
"""


def test_a_sandboxed_hook_holds_no_capability_and_sees_no_home(tmp_path: Path, sandbox_method: str) -> None:
    """As root, bubblewrap kept every capability and unshare's hook was root of its own user
    namespace: either could remount / read-write and write anywhere. And the filesystem is
    readable, so a hook could copy a kubeconfig or a key into a manifest: the homes are hidden."""
    secret = Path(os.environ["HOME"]) / ".kube" / "config"
    secret.parent.mkdir(parents=True, exist_ok=True)
    secret.write_text("token: do-not-read")
    outside = tmp_path / "escaped"
    result, _, _ = run(tmp_path, ESCAPE_PROBE.format(outside=str(outside), secret=str(secret)), sandbox=True)
    tried = json.loads(result.output)
    assert tried == {
        "caps": "0000000000000000",
        "remounted": False,
        "outside": "OSError",
        "secret": "FileNotFoundError",
    }
    assert not outside.exists()


def test_sandbox_init_keeps_a_mounts_flags() -> None:
    from kube.install import sandbox_init as init

    flags = init.remount_flags(b"rw,nosuid,nodev,noexec,relatime")
    assert flags & init.MS_RDONLY and flags & init.MS_NOSUID and flags & init.MS_NODEV
    assert flags & init.MS_NOEXEC and flags & init.MS_RELATIME and not flags & init.MS_STRICTATIME
    # No atime option shown is strictatime, which the kernel would otherwise turn into relatime.
    assert init.remount_flags(b"rw") & init.MS_STRICTATIME
    assert init._unescape(b"/mnt/with\\040space") == b"/mnt/with space"


def test_no_sandbox_available_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Neither tool can be uninstalled for a test; hiding both is the only way to reach this path.
    monkeypatch.setattr(hooks.shutil, "which", lambda name: None)
    hooks._sandbox_method.cache_clear()
    try:
        with pytest.raises(SandboxUnavailable, match="cannot sandbox the pre-install hook of shop") as err:
            run(tmp_path, "print('never runs')\n", sandbox=True)
        assert err.value.hint and "bubblewrap" in err.value.hint
        assert err.value.exit_code == ExitCode.HOOK
    finally:
        hooks._sandbox_method.cache_clear()


def test_stage_formula_accepts_relative_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_formula(tmp_path, None)
    monkeypatch.chdir(tmp_path)
    staged = stage_formula(Path("src/shop"), Path("stage"))
    assert (staged / "manifests" / "a.yaml").read_text() == CONFIGMAP.format(name="a")


def test_a_hook_that_returns_a_reserved_value_is_the_hooks_error(tmp_path: Path) -> None:
    """`kube` is the templates' own object: a hook that returns it is refused as the hook's fault (exit 7)."""
    hook = (
        "import json, os\n"
        "json.dump({'kube': {'namespace': 'kube-system'}}, open(os.environ['KUBE_VALUES_OUT'], 'w'))\n"
    )
    err = hook_error(tmp_path, hook)
    assert "pre-install hook of shop wrote a value `kube` to KUBE_VALUES_OUT" in err.message
    assert err.exit_code == ExitCode.HOOK
