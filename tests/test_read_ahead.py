"""Reads started ahead (``kube.core.process.start``, ``Kubectl.read_ahead``) and calls started
waiting for their input (``start_waiting``, ``Kubectl.start_waiting``): the same answer as the
call made in turn, one process for both, nothing left running when nobody takes it, and nothing
sent to a waiting call before kube makes it.

The kubectl here is a script that logs each call and answers from a file: these tests count
processes and order, which the real kubectl cannot be made to report. The install and uninstall
on the local control plane (``test_install_and_uninstall_start_their_first_read_ahead``) use
the real kubectl behind a logging wrapper."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from kube.core import process
from kube.core.errors import ClusterError, ProcessError, ProcessTimeout
from kube.k8s import kubectl as kubectl_module
from kube.k8s.kubectl import Kubectl
from kube.k8s.release_names import RECORDS_SELECTOR, read_records_ahead
from tests.cluster import Cluster


def _fake_kubectl(tmp_path: Path, body: str = 'echo \'{"kind":"List","items":[]}\'') -> tuple[Path, Path]:
    log = tmp_path / "calls.log"
    script = tmp_path / "kubectl"
    script.write_text(f'#!/bin/sh\necho "$(date +%s%N) $*" >> "{log}"\n{body}\n')
    script.chmod(0o755)
    return script, log


def _calls(log: Path) -> list[str]:
    return [line.split(" ", 1)[1] for line in log.read_text().splitlines()] if log.exists() else []


@pytest.fixture(autouse=True)
def _nothing_left_ahead() -> object:
    yield
    kubectl_module.stop_early()


def test_a_started_child_answers_as_run_does(tmp_path: Path) -> None:
    argv = ["sh", "-c", "echo out; echo err >&2; exit 3"]
    started = process.start(argv, timeout=10).result(check=False)
    ran = process.run(argv, timeout=10, check=False)
    assert (started.returncode, started.stdout, started.stderr) == (3, "out\n", "err\n")
    assert (ran.returncode, ran.stdout, ran.stderr) == (started.returncode, started.stdout, started.stderr)
    with pytest.raises(ProcessError, match="exit code 3"):
        process.start(argv, timeout=10).result()


def test_a_started_child_is_read_meanwhile_and_never_waits_on_a_full_pipe() -> None:
    # 4 MB is far beyond a pipe's buffer: unread, the child would still be writing after the sleep.
    started = process.start(
        [sys.executable, "-c", "import sys; sys.stdout.write('x' * 4_000_000)"], timeout=30
    )
    time.sleep(1.5)
    assert started._proc.poll() is not None, "the child should have written everything and exited"
    assert len(started.result().stdout) == 4_000_000


def test_a_started_child_past_its_timeout_is_killed_with_its_group(tmp_path: Path) -> None:
    pid_file = tmp_path / "sleeper.pid"
    started = process.start(["sh", "-c", f"sleep 30 & echo $! > {pid_file}; wait"], timeout=0.5)
    began = time.monotonic()
    with pytest.raises(ProcessTimeout):
        started.result()
    assert time.monotonic() - began < 10
    _assert_gone(int(pid_file.read_text()))


def test_a_missing_program_cannot_be_started() -> None:
    with pytest.raises(ProcessError, match="command not found"):
        process.start(["/nonexistent/kubectl-xyz"])


def test_cancel_ends_the_child_and_its_group(tmp_path: Path) -> None:
    pid_file = tmp_path / "sleeper.pid"
    started = process.start(["sh", "-c", f"sleep 30 & echo $! > {pid_file}; wait"], timeout=60)
    _wait_for(pid_file)
    started.cancel()
    _assert_gone(int(pid_file.read_text()))
    assert started._proc.poll() is not None


def test_the_identical_read_takes_the_answer_started_ahead(tmp_path: Path) -> None:
    script, log = _fake_kubectl(tmp_path)
    early = Kubectl(binary=str(script))
    early.list_objects_ahead("secrets", namespace="apps", selector="a=b")
    later = Kubectl(binary=str(script))  # another instance, as the CLI makes
    assert later.list_objects("secrets", namespace="apps", selector="a=b") == []
    calls = _calls(log)
    assert len(calls) == 1 and calls[0].startswith(
        "get secrets --output=json --namespace=apps --selector=a=b"
    )
    # Taken once: the next identical read asks again.
    later.list_objects("secrets", namespace="apps", selector="a=b")
    assert len(_calls(log)) == 2


def test_another_read_or_another_cluster_does_not_take_it(tmp_path: Path) -> None:
    script, log = _fake_kubectl(tmp_path)
    Kubectl(binary=str(script)).list_objects_ahead("secrets", namespace="apps", selector="a=b")
    Kubectl(binary=str(script)).list_objects("secrets", namespace="other", selector="a=b")
    Kubectl(binary=str(script), context="prod").list_objects("secrets", namespace="apps", selector="a=b")
    calls = _calls(log)
    assert len(calls) == 3
    assert sum("--context=prod" in c for c in calls) == 1


def test_a_read_whose_environment_changed_is_asked_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script, _log = _fake_kubectl(
        tmp_path, body='echo "{\\"kind\\":\\"List\\",\\"items\\":[],\\"c\\":\\"$KUBECONFIG\\"}"'
    )
    monkeypatch.setenv("KUBECONFIG", "/first")
    Kubectl(binary=str(script)).list_objects_ahead("secrets", namespace="apps")
    monkeypatch.setenv("KUBECONFIG", "/second")
    code, out, _ = Kubectl(binary=str(script)).run(
        *kubectl_module._list_args("secrets", "apps", ""), read=True
    )
    assert code == 0 and json.loads(out)["c"] == "/second"


def test_a_failed_read_ahead_fails_as_the_read_itself(tmp_path: Path) -> None:
    script, _ = _fake_kubectl(
        tmp_path, body='echo "Error from server (Forbidden): secrets is forbidden" >&2; exit 1'
    )
    Kubectl(binary=str(script)).list_objects_ahead("secrets", namespace="apps")
    with pytest.raises(ClusterError, match="Forbidden"):
        Kubectl(binary=str(script)).list_objects("secrets", namespace="apps")


def test_the_records_read_ahead_is_the_read_of_the_releases(tmp_path: Path) -> None:
    from kube.k8s import releases

    script, log = _fake_kubectl(tmp_path)
    kubectl = Kubectl(binary=str(script))
    read_records_ahead(kubectl, "apps")
    assert releases.read_release(kubectl, "web", "apps") is None
    read_records_ahead(kubectl, None)
    assert releases.list_releases(kubectl) == []
    calls = _calls(log)
    assert len(calls) == 2, calls
    assert all(f"--selector={RECORDS_SELECTOR}" in c for c in calls)
    read_records_ahead(kubectl, "Not-A-Namespace")  # refused later by the command, never asked
    assert len(_calls(log)) == 2


def test_an_unclaimed_read_is_stopped_when_kube_exits(tmp_path: Path) -> None:
    pid_file = tmp_path / "kubectl.pid"
    script, _ = _fake_kubectl(tmp_path, body=f"echo $$ > {pid_file}; exec sleep 60")
    code = textwrap.dedent(
        f"""
        from kube.k8s.kubectl import Kubectl
        Kubectl(binary={str(script)!r}).list_objects_ahead("secrets", namespace="apps")
        import time
        deadline = time.monotonic() + 10
        while not __import__("os").path.exists({str(pid_file)!r}) and time.monotonic() < deadline:
            time.sleep(0.05)
        """
    )
    began = time.monotonic()
    subprocess.run([sys.executable, "-c", code], check=True, timeout=30)
    assert time.monotonic() - began < 15
    _assert_gone(int(pid_file.read_text()))


def _wait_for(path: Path) -> None:
    deadline = time.monotonic() + 10
    while not (path.exists() and path.read_text().strip()):
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.02)


def _assert_gone(pid: int) -> None:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        # A zombie that nobody reaped yet has ended too.
        state = (
            Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[-1][:1]
            if Path(f"/proc/{pid}").exists()
            else "Z"
        )
        if state == "Z":
            return
        time.sleep(0.05)
    raise AssertionError(f"process {pid} is still running")


def _input_logging_kubectl(tmp_path: Path, real: str, log: Path) -> Path:
    """A kubectl that logs, when it ends, the moment its whole input had arrived (for a call
    started waiting: when kube made the call), its end, and its arguments; a process stopped
    before its input came logs nothing."""
    wrapper = tmp_path / "kubectl"
    wrapper.write_text(
        f'#!/bin/sh\nin=$(mktemp)\ncat > "$in"\ns=$(date +%s%N)\n"{real}" "$@" < "$in"\nrc=$?\n'
        f'rm -f "$in"\necho "$s $(date +%s%N) $*" >> "{log}"\nexit $rc\n'
    )
    wrapper.chmod(0o755)
    return wrapper


@pytest.mark.cluster
def test_install_and_uninstall_start_their_first_read_ahead(cluster: Cluster, tmp_path: Path) -> None:
    """On the control plane, through the console entry point: an install still makes three
    kubectl calls, and the uninstall asks for the server's types while it reads the objects
    (both calls under way at once), then deletes the namespace it created."""
    import shutil
    import uuid

    real = shutil.which("kubectl", path=cluster.env["PATH"])
    assert real is not None
    log = tmp_path / "calls.log"
    wrapper = _input_logging_kubectl(tmp_path, real, log)
    formula = tmp_path / "ahead"
    (formula / "manifests").mkdir(parents=True)
    (formula / "K3.yaml").write_text(
        "name: ahead\nversion: 1.0.0\nhome: https://example.com\ndescription: read ahead\n"
        "maintainers: [Jane Doe <jane@example.com>]\n"
    )
    (formula / "manifests" / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")
    ns = f"ahead-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, **cluster.env, "KUBE_KUBECTL": str(wrapper), "KUBE_HOME": str(tmp_path / "home")}
    kube = [sys.executable, "-m", "kube"]
    try:
        done = subprocess.run(
            [*kube, "install", str(formula), "-n", ns], env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        verbs = [line.split()[2] for line in log.read_text().splitlines()]
        assert verbs == ["get", "create", "replace"], verbs
        log.write_text("")
        done = subprocess.run(
            [*kube, "uninstall", "ahead", "-n", ns], env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        calls = [line.split(" ", 2) for line in log.read_text().splitlines()]
        spans = [(int(a), int(b), args) for a, b, args in calls]

        def span(verb: str, word: str = "") -> tuple[int, int]:
            """The first call of ``verb`` whose arguments hold ``word``."""
            found = sorted((a, b) for a, b, args in spans if args.startswith(f"{verb} ") and word in args)
            assert found, (verb, word, calls)
            return found[0]

        def overlap(one: tuple[int, int], other: tuple[int, int]) -> bool:
            return one[0] < other[1] and other[0] < one[1]

        # The server's types are read while the objects are; what else lives in the namespace
        # while the objects are deleted; the records and the namespace go after both.
        assert overlap(span("api-resources"), span("get", "--filename=-"))
        residents = span("get", "configmaps,")
        assert overlap(residents, span("delete", "--wait=true"))
        assert span("delete", "--wait=false")[0] >= residents[1]
        phase = cluster.kubectl("get", "namespace", ns, "-o", "jsonpath={.status.phase}", check=False)
        assert phase.returncode != 0 or phase.stdout == "Terminating"
    finally:
        cluster.kubectl("delete", "namespace", ns, "--wait=false", "--ignore-not-found", check=False)


# -- calls started waiting for their input ----------------------------------------------------


def test_a_waiting_child_answers_as_run_does() -> None:
    argv = ["sh", "-c", "cat; echo err >&2; exit 3"]
    waited = process.start_waiting(argv).run("in\n", timeout=10, check=False)
    ran = process.run(argv, input="in\n", timeout=10, check=False)
    assert (waited.returncode, waited.stdout, waited.stderr) == (3, "in\n", "err\n")
    assert (ran.returncode, ran.stdout, ran.stderr) == (waited.returncode, waited.stdout, waited.stderr)
    with pytest.raises(ProcessError, match="exit code 3"):
        process.start_waiting(argv).run("in\n", timeout=10)


def test_a_waiting_child_gets_nothing_before_its_input_and_its_deadline_counts_from_it(
    tmp_path: Path,
) -> None:
    ready, got = tmp_path / "ready", tmp_path / "got"
    waiting = process.start_waiting(["sh", "-c", f"echo up > {ready}; cat > {got}; sleep 0.3; echo ok"])
    _wait_for(ready)
    time.sleep(1.0)
    assert got.read_bytes() == b"", "the child read input nobody gave it"
    assert waiting._proc.poll() is None, "the child should still be waiting on its stdin"
    # Started 1 s ago: a deadline counted from the start would have passed already.
    done = waiting.run("payload", timeout=0.9)
    assert (done.stdout, got.read_text()) == ("ok\n", "payload")


def test_a_waiting_child_past_its_timeout_is_killed_with_its_group(tmp_path: Path) -> None:
    pid_file = tmp_path / "sleeper.pid"
    waiting = process.start_waiting(["sh", "-c", f"cat >/dev/null; sleep 30 & echo $! > {pid_file}; wait"])
    with pytest.raises(ProcessTimeout):
        waiting.run("x", timeout=0.5)
    _assert_gone(int(pid_file.read_text()))


def test_a_waiting_child_that_died_early_reports_what_it_said(tmp_path: Path) -> None:
    # kubectl that cannot load its kubeconfig exits before reading its input: its error is the answer.
    waiting = process.start_waiting(["sh", "-c", "echo 'error: no configuration' >&2; exit 1"])
    time.sleep(0.3)
    done = waiting.run("x" * 1_000_000, timeout=10, check=False)
    assert (done.returncode, done.stderr) == (1, "error: no configuration\n")


def test_the_identical_call_hands_its_input_to_the_waiting_kubectl(tmp_path: Path) -> None:
    got = tmp_path / "stdin"
    live = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "namespace": "apps", "uid": "u1"},
    }
    script, log = _fake_kubectl(tmp_path, body=f"cat > {got}; echo '{json.dumps(live)}'")
    kubectl = Kubectl(binary=str(script))
    kubectl.create_waiting()
    _wait_until(lambda: len(_calls(log)) == 1)
    [outcome] = kubectl.create(
        [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "apps"}}]
    )
    assert outcome.ok and outcome.live is not None and outcome.live["metadata"]["uid"] == "u1"
    assert _calls(log) == ["create --filename=- --output=json"], "one process for both"
    assert json.loads(got.read_text())["metadata"]["name"] == "c"
    assert not kubectl_module._WAITING


def test_another_call_or_environment_does_not_take_the_waiting_kubectl(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script, log = _fake_kubectl(tmp_path, body="cat >/dev/null; echo '{}'")
    kubectl = Kubectl(binary=str(script))
    kubectl.replace_waiting(validate=False)
    kubectl.replace({"kind": "Secret", "metadata": {"name": "s"}})  # validated: another argv
    assert kubectl_module._WAITING, "a validated replace must not take the unvalidated one"
    monkeypatch.setenv("KUBE_EXAMPLE_CHANGED", "1")
    kubectl.replace({"kind": "Secret", "metadata": {"name": "s"}}, validate=False)
    assert not kubectl_module._WAITING
    assert len(_calls(log)) == 3, "the waiting kubectl was started in another environment: not used"


def test_a_hook_stops_the_waiting_calls(tmp_path: Path) -> None:
    """A hook may add types to the API server (a CRD): a kubectl that loaded the server's schema
    before it ran is stopped, so the create that follows validates against what the server serves."""
    pid_file = tmp_path / "kubectl.pid"
    script, _ = _fake_kubectl(
        tmp_path,
        body=f'case "$1" in create) echo $$ > {pid_file}; exec cat;; '
        f'*) echo \'{{"kind":"List","items":[]}}\';; esac',
    )
    kubectl = Kubectl(binary=str(script))
    kubectl.create_waiting()
    _wait_for(pid_file)
    formula = tmp_path / "hooked"
    (formula / "manifests").mkdir(parents=True)
    (formula / "scripts").mkdir()
    (formula / "K3.yaml").write_text(
        "name: hooked\nversion: 1.0.0\nhome: https://example.com\ndescription: a hook\n"
        "maintainers: [Jane Doe <jane@example.com>]\n"
    )
    (formula / "manifests" / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")
    (formula / "scripts" / "pre-install.py").write_text("print('hook ran')\n")
    from kube.install import pipeline

    the_plan = pipeline.plan(pipeline.resolve(str(formula)), kubectl, namespace="apps", dry_run=True)
    assert kubectl_module._WAITING, "the plan's reads leave the waiting create alone"
    pipeline._render(the_plan, pipeline.InstallOptions(dry_run=True, offline=True), kubectl)
    assert not kubectl_module._WAITING
    _assert_gone(int(pid_file.read_text()))


def test_an_unclaimed_waiting_call_is_stopped_at_exit_and_reads_nothing_if_kube_dies(tmp_path: Path) -> None:
    for ending in ("", "os._exit(0)"):
        pid_file, got, eof = tmp_path / "kubectl.pid", tmp_path / "stdin", tmp_path / "eof"
        pid_file.unlink(missing_ok=True)
        script, _ = _fake_kubectl(
            tmp_path, body=f"echo $$ > {pid_file}; cat > {got}; echo eof > {eof}; exec sleep 60"
        )
        code = textwrap.dedent(
            f"""
            import os, time
            from kube.k8s.kubectl import Kubectl
            Kubectl(binary={str(script)!r}).create_waiting()
            deadline = time.monotonic() + 10
            while not os.path.exists({str(pid_file)!r}) and time.monotonic() < deadline:
                time.sleep(0.05)
            {ending}
            """
        )
        subprocess.run([sys.executable, "-c", code], check=True, timeout=30)
        _wait_for(pid_file)
        pid = int(pid_file.read_text())
        if not ending:
            assert not eof.exists(), "stopped at exit, before any input"
        else:
            # kube died without its exit handlers: the kubectl reads an empty input, no objects.
            _wait_until(eof.exists)
            assert got.read_bytes() == b""
            os.kill(pid, 9)
        _assert_gone(pid)


def _wait_until(check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 10
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.mark.cluster
def test_a_waiting_create_on_the_control_plane_creates_only_once_given_its_objects(
    cluster: Cluster, tmp_path: Path
) -> None:
    """The real kubectl, started before its input: it fetched the server's schema meanwhile and
    still refuses what the schema refuses; and until given objects it creates nothing."""
    import uuid

    ns = f"waiting-{uuid.uuid4().hex[:8]}"
    kubectl = Kubectl(kubeconfig=cluster.env["KUBECONFIG"])
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": ns}}
    try:
        kubectl.create([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}])
        kubectl.create_waiting()
        time.sleep(1.0)
        assert kubectl.get_named("configmaps", "c", ns) is None
        [outcome] = kubectl.create([cm])
        assert outcome.ok, outcome
        assert not kubectl_module._WAITING
        kubectl.create_waiting()
        bad = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "d", "namespace": ns},
            "dataa": {},
        }
        [refused] = kubectl.create([bad])
        assert not refused.ok and "dataa" in refused.message, refused
        kubectl.create_waiting()
        kubectl_module.stop_early()
        assert not kubectl_module._WAITING
        assert kubectl.get_named("configmaps", "d", ns) is None
    finally:
        cluster.kubectl("delete", "namespace", ns, "--wait=false", "--ignore-not-found", check=False)
