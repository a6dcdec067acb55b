"""Hostile hooks and hostile children: containment, signals, temporary files, bad output.

Every test runs real processes: real hooks through ``run_pre_install``, kube itself as a
subprocess (``python -m kube install --dry-run``, which runs the hook and needs no cluster),
and real children of ``kube.process.run``. A process "survives" when /proc still holds a live
process with the test's marker in its argv.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest

from kube.core import containment, process
from kube.core.errors import ExitCode, ProcessError, ProcessTimeout
from tests.test_hooks import hook_error, make_formula, run

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")

ROOT = Path(__file__).resolve().parents[1]


def marked(marker: str) -> list[int]:
    """Live (not zombie) processes with ``marker`` in their command line."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_bytes().rpartition(b")")[2].split()[0]
        except (OSError, IndexError):
            continue
        if marker.encode() in cmdline and state != b"Z":
            found.append(int(entry.name))
    return found


def none_left(marker: str, seconds: float = 5) -> bool:
    deadline = time.monotonic() + seconds
    while marked(marker):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.fixture
def marker() -> str:
    return f"kube-test-{uuid.uuid4().hex}"


@pytest.fixture(autouse=True)
def kill_marked(marker: str) -> object:
    """Whatever a test's hook leaves behind on the old code is not left on the machine."""
    yield None
    for pid in marked(marker):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


# A hook that starts a daemon the classic way: fork, setsid, fork again (so its parent is gone
# and it leads no group kube knows), then exec a sleeper with the marker in its argv. BODY runs
# in the daemon before the exec.
DAEMON = """
    import os, sys, time
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
    {body}
            os.execve(sys.executable, [sys.executable, "-c", "import time; time.sleep(120)", {marker!r}], ENV)
        os._exit(0)
    print("hook done", flush=True)
    {after}
"""


def daemon_hook(marker: str, *, body: str = "pass", env: str = "dict(os.environ)", after: str = "") -> str:
    text = DAEMON.format(marker=marker, body=textwrap.indent(body, " " * 8), after=after)
    return textwrap.dedent(text).replace("ENV", env)


# --- 1. containment -------------------------------------------------------------------------------


def test_a_setsid_daemon_holding_stdout_neither_blocks_the_hook_nor_survives(
    tmp_path: Path, marker: str
) -> None:
    start = time.monotonic()
    result, _, _ = run(tmp_path, daemon_hook(marker), timeout=30)
    assert time.monotonic() - start < 10, "kube waited for the daemon's copy of stdout"
    assert "hook done" in result.output
    assert none_left(marker), "the hook's daemon outlived it"
    assert result.containment == containment.SUBREAPER


def test_a_daemon_that_closes_its_fds_and_drops_its_environment_is_killed(
    tmp_path: Path, marker: str
) -> None:
    hook = daemon_hook(marker, body="os.closerange(0, 4096)", env="{}")
    result, _, _ = run(tmp_path, hook, timeout=30)
    assert result.ran
    assert none_left(marker), "a daemon without kube's environment marker outlived the hook"


def test_a_daemon_started_by_a_hook_that_times_out_is_killed(tmp_path: Path, marker: str) -> None:
    start = time.monotonic()
    err = hook_error(tmp_path, daemon_hook(marker, after="time.sleep(60)"), timeout=2)
    assert time.monotonic() - start < 12
    assert "did not finish within 2s" in err.message
    assert "hook done" in err.output
    assert none_left(marker)


def test_without_a_subreaper_the_result_says_the_containment_is_weaker(
    tmp_path: Path, marker: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where prctl is unavailable (not Linux) only the process group and the environment marker
    remain; such a machine cannot be made here, so containment.method is forced."""
    monkeypatch.setattr(containment, "method", lambda: containment.PROCESS_GROUP)
    hook = """
        import subprocess, sys
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", MARKER])
    """.replace("MARKER", repr(marker))
    result, _, _ = run(tmp_path, hook, timeout=30)
    assert result.containment == containment.PROCESS_GROUP
    assert none_left(marker), "the marker scan still ends a child that kept kube's environment"


def test_kube_install_returns_promptly_and_leaves_no_daemon(tmp_path: Path, marker: str) -> None:
    src = make_formula(tmp_path, daemon_hook(marker))
    start = time.monotonic()
    done = kube_cli(tmp_path, "install", str(src), "-n", "prod", "--dry-run", "--hook-timeout", "60s")
    assert time.monotonic() - start < 20
    assert done.returncode == 0, done.stderr
    assert none_left(marker)


# --- 2. signals and temporary files ---------------------------------------------------------------


def kube_env(tmp_path: Path) -> dict[str, str]:
    tmpdir = tmp_path / "tmpdir"
    tmpdir.mkdir(exist_ok=True)
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "KUBE_INTERACTIVE": "0",
        "TMPDIR": str(tmpdir),
    }


def kube_cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kube", *args],
        env=kube_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )


SLOW_HOOK = """
    import json, os, pathlib, subprocess, sys, time
    values = pathlib.Path(os.environ["KUBE_VALUES_FILE"]).read_text()
    pathlib.Path(os.environ["KUBE_VALUES_OUT"]).write_text(json.dumps({{"password": "hunter2"}}))
    sleeper = [sys.executable, "-c", "import time; time.sleep(120)", {marker!r}]
    subprocess.Popen(sleeper, start_new_session=True)
    pathlib.Path({started!r}).write_text(values)
    time.sleep(120)
"""


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_terminating_kube_during_the_hook_removes_its_files_and_ends_the_hook(
    tmp_path: Path, marker: str, signum: int, code: int
) -> None:
    started = tmp_path / "started"
    src = make_formula(tmp_path, SLOW_HOOK.format(marker=marker, started=str(started)))
    proc = subprocess.Popen(
        [sys.executable, "-m", "kube", "install", str(src), "-n", "prod", "--dry-run",
         "--set-string", "password=s3cret-from-the-user"],
        env=kube_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not started.exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the hook never started"
            time.sleep(0.05)
        assert "s3cret-from-the-user" in started.read_text()
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == code, err
    assert "Traceback" not in err
    assert f"Error: terminated by {signal.Signals(signum).name}" in err
    assert list((tmp_path / "tmpdir").iterdir()) == [], "kube left temporary files behind"
    assert none_left(marker), "the hook's processes outlived kube"


def test_files_that_hold_values_are_private_and_next_to_the_staged_copy(tmp_path: Path) -> None:
    result, staged, _ = run(
        tmp_path,
        """
        import json, os, pathlib, stat
        mode = lambda p: oct(stat.S_IMODE(os.stat(p).st_mode))
        values = os.environ["KUBE_VALUES_FILE"]
        pathlib.Path(os.environ["KUBE_VALUES_OUT"]).write_text("{}")
        open(os.path.join(os.environ["TMPDIR"], "scratch"), "w").close()
        print(json.dumps({
            "values": mode(values),
            "dir": mode(os.path.dirname(values)),
            "out": mode(os.environ["KUBE_VALUES_OUT"]),
            "scratch": mode(os.path.join(os.environ["TMPDIR"], "scratch")),
            "parent": os.path.dirname(os.path.dirname(values)),
        }))
        """,
    )
    seen = json.loads(result.output)
    assert seen == {
        "values": "0o600",
        "dir": "0o700",
        "out": "0o600",
        "scratch": "0o600",
        "parent": str(staged.parent),
    }
    assert sorted(p.name for p in staged.parent.iterdir()) == [staged.name], "the private directory stays"


# --- 3. bad output and bad values -----------------------------------------------------------------


def test_non_utf8_output_of_a_failing_hook_is_a_hook_error(tmp_path: Path) -> None:
    err = hook_error(
        tmp_path,
        r"""
        import os
        os.write(1, b'caf\xe9 \xff\xfe\n')
        os.write(2, b'bad \xff\n')
        raise SystemExit(2)
        """,
    )
    assert err.exit_code == ExitCode.HOOK
    assert err.message == "pre-install hook of shop failed with exit code 2: bad \ufffd"
    assert "caf\ufffd \ufffd\ufffd" in err.output


def test_non_utf8_output_reaches_the_cli_as_one_line_not_an_internal_error(tmp_path: Path) -> None:
    src = make_formula(tmp_path, "import os; os.write(2, b'\\xff\\xfe broken\\n'); raise SystemExit(1)\n")
    done = kube_cli(tmp_path, "install", str(src), "-n", "prod", "--dry-run")
    assert done.returncode == ExitCode.HOOK, done.stderr
    assert "failed with exit code 1: \ufffd\ufffd broken" in done.stderr
    assert "internal error" not in done.stderr


def test_the_hook_error_neutralises_control_characters(tmp_path: Path) -> None:
    err = hook_error(tmp_path, "print('ok \\x1b[2J\\x07 \\u202edlrow'); raise SystemExit(1)\n")
    assert err.message == "pre-install hook of shop failed with exit code 1: ok \\x1b[2J\\x07 \\u202edlrow"
    assert "\x1b" not in err.output and "\u202e" not in err.output and "\\x1b[2J" in err.output


def test_a_huge_hook_timeout_is_accepted(tmp_path: Path) -> None:
    src = make_formula(tmp_path, "print('ran')\n")
    done = kube_cli(
        tmp_path, "install", str(src), "-n", "prod", "--dry-run", "--hook-timeout", "99999999999999s"
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    ("write", "message"),
    [
        ("os.mkdir(out)", "made KUBE_VALUES_OUT something other than a regular file"),
        (
            "open(out, 'w').write('[' * 100000 + ']' * 100000)",
            "wrote values nested more than 64 levels deep to KUBE_VALUES_OUT",
        ),
        (
            "open(out, 'w').write('{\"a\": ' + '[' * 200 + ']' * 200 + '}')",
            "wrote values nested more than 64 levels deep to KUBE_VALUES_OUT",
        ),
        (
            "open(out, 'w').write('{\"a\": NaN}')",
            "wrote invalid JSON to KUBE_VALUES_OUT: NaN is not a JSON value",
        ),
        ("open(out, 'wb').write(b'{\"a\": \"\\xff\"}')", "wrote invalid JSON to KUBE_VALUES_OUT"),
        ("open(out, 'w').write('\"text\"')", "wrote a JSON str to KUBE_VALUES_OUT; expected an object"),
    ],
)
def test_bad_values_out_is_one_hook_error(tmp_path: Path, write: str, message: str) -> None:
    err = hook_error(tmp_path, f"import os\nout = os.environ['KUBE_VALUES_OUT']\n{write}\n")
    assert message in err.message
    assert err.exit_code == ExitCode.HOOK


def test_deep_values_out_through_the_cli_exits_7(tmp_path: Path) -> None:
    hook = "import os\nopen(os.environ['KUBE_VALUES_OUT'], 'w').write('[' * 100000 + ']' * 100000)\n"
    done = kube_cli(tmp_path, "install", str(make_formula(tmp_path, hook)), "-n", "prod", "--dry-run")
    assert done.returncode == ExitCode.HOOK, done.stderr
    # One error line (a dry run also says, on a `==>` line, that the hook runs unsandboxed).
    errors = [line for line in done.stderr.splitlines() if not line.startswith("==> ")]
    assert len(errors) == 1, done.stderr
    assert "nested more than 64 levels deep" in errors[0]


def test_sandbox_without_bubblewrap_is_unshare_with_a_read_only_filesystem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """bubblewrap is installed here; hiding it (only it: unshare stays) is the only way to reach
    this path. `unshare -rn` alone would leave the filesystem writable: kube's unshare sandbox
    makes every mount read-only first, or refuses to run the hook."""
    from kube.install import hooks

    real_which = hooks.shutil.which
    monkeypatch.setattr(hooks.shutil, "which", lambda name: None if name == "bwrap" else real_which(name))
    hooks._sandbox_method.cache_clear()
    target = Path("/tmp") / f"kube-never-{os.getpid()}"
    try:
        if hooks._sandbox_method() != "unshare":
            with pytest.raises(hooks.SandboxUnavailable, match="bubblewrap") as refused:
                run(tmp_path, f"open({str(target)!r}, 'w')\n", sandbox=True)
            assert "could write wherever you can" in refused.value.message
            return
        with pytest.raises(hooks.HookError, match="Read-only file system"):
            run(tmp_path, f"open({str(target)!r}, 'w')\n", sandbox=True)
        assert not target.exists()
    finally:
        target.unlink(missing_ok=True)
        hooks._sandbox_method.cache_clear()


# --- 4. kube.process, the one subprocess helper -----------------------------------------------------


def test_a_grandchild_holding_the_pipe_is_not_waited_for_and_is_killed(marker: str) -> None:
    start = time.monotonic()
    done = process.run(
        ["sh", "-c", f'"{sys.executable}" -c "import time; time.sleep(60)" {marker} & echo started'],
        timeout=30,
    )
    assert time.monotonic() - start < 10
    assert done.stdout == "started\n"
    assert none_left(marker), "the grandchild in the child's group survived"


def test_a_child_that_closes_stdout_but_keeps_running_times_out() -> None:
    start = time.monotonic()
    with pytest.raises(ProcessTimeout, match="did not finish within 1s"):
        process.run(["sh", "-c", "echo before; exec >&- 2>&-; sleep 30"], timeout=1)
    assert time.monotonic() - start < 8


def test_output_that_is_not_utf8_is_decoded_with_replacement() -> None:
    done = process.run(["printf", "caf\\351\\n"], check=False)
    assert done.stdout == "caf\ufffd\n"
    with pytest.raises(ProcessError, match="failed with exit code 3: \ufffd\\\\x1b"):
        process.run(["sh", "-c", "printf '\\377\\033\\n' >&2; exit 3"])


@pytest.mark.parametrize("timeout", [99999999999999.0, float("inf"), 1e300])
def test_a_huge_timeout_is_no_overflow(timeout: float) -> None:
    assert process.run(["true"], timeout=timeout).ok
    assert process.run(["cat"], input="x" * 300_000, timeout=timeout).stdout == "x" * 300_000


def test_an_argument_with_a_nul_byte_is_a_process_error() -> None:
    with pytest.raises(ProcessError, match="cannot run echo"):
        process.run(["echo", "a\0b"])


def test_input_that_is_not_valid_text_still_reaches_the_child() -> None:
    # A --set value from a non-UTF-8 command line arrives as surrogate escapes: the child gets the
    # original bytes back; a lone surrogate that is no escape is replaced.
    assert process.run(["od", "-An", "-tx1"], input="\udcff\ud800").stdout.split() == [
        "ff", "3f",
    ]  # fmt: skip


def test_output_is_bounded_when_asked() -> None:
    done = process.run([sys.executable, "-c", "print('x' * 5_000_000 + 'END')"], keep=1000)
    assert len(done.stdout) == 1000 and done.stdout.endswith("END\n")


def test_the_group_kill_on_timeout_reaches_grandchildren(marker: str) -> None:
    with pytest.raises(ProcessTimeout):
        process.run(
            ["sh", "-c", f'"{sys.executable}" -c "import time; time.sleep(60)" {marker} & exec sleep 60'],
            timeout=1,
        )
    assert none_left(marker)


def test_the_marker_helpers_see_a_live_process() -> None:
    """``marked`` finds a marked process and stops seeing it once it is gone: the tests above
    would pass vacuously if it saw nothing."""
    tag = f"kube-test-{uuid.uuid4().hex}"
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)", tag])
    try:
        deadline = time.monotonic() + 5
        while not marked(tag) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marked(tag) == [proc.pid]
    finally:
        proc.kill()
        proc.wait()
    assert none_left(tag)
