"""What kube prints when the reader, the formula or the cluster is hostile or gone.

A reader that closes stdout early, text from a formula that holds terminal
controls or bidirectional overrides, a mistyped command, a cluster that never
answers, and the demo script next to a cluster the user started: each ends
with what a user can read and a documented exit code, never exit 70.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from kube.cli.app import EXIT_BROKEN_PIPE, app
from kube.core.errors import ExitCode
from tests.cluster import Cluster
from tests.gitrepo import formula_files, k3, make_repo

REPO = Path(__file__).resolve().parents[1]
# Every character class console.safe must neutralise: a C0 and a C1 control (CSI), the
# bidi embeddings/overrides/isolates/marks, zero-width characters, the BOM, a tag character.
HOSTILE = (
    "\x1b[2J\x9b31m\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
    "\u200b\u200c\u200d\ufeff\u2028\U000e0041"
)


def kube(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def kube_process(*args: str, **popen: object) -> subprocess.Popen[bytes]:
    """kube as a real process, with this checkout first on the import path."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-m", "kube", *args], env=env, **popen)  # type: ignore[call-overload,no-any-return]


def assert_no_hostile_character(text: str) -> None:
    """No control (Cc), format (Cf) or line/paragraph separator character but tab and newline."""
    import unicodedata

    hidden = ("Cc", "Cf", "Zl", "Zp")
    found = sorted(
        {f"U+{ord(c):04X}" for c in text if unicodedata.category(c) in hidden} - {"U+0009", "U+000A"}
    )
    assert not found, f"raw control/format characters printed: {found}"


# -- stdout closed early ---------------------------------------------------------------------------


@pytest.mark.parametrize("command", [("search", "nginx"), ("info", "nginx"), ("search", "-o", "json", "n")])
def test_reader_gone_before_kube_writes_ends_kube_quietly(
    remote_archive: Path, kube_home: Path, command: tuple[str, ...]
) -> None:
    """`kube search nginx | head -1` where head is done before kube writes (kube reads the
    archive first): a real pipe whose reading end is closed. Exit 141 like coreutils and git."""
    assert kube("update", "--repo", str(remote_archive)).exit_code == 0
    read_end, write_end = os.pipe()
    os.close(read_end)
    proc = kube_process(*command, stdout=write_end, stderr=subprocess.PIPE)
    os.close(write_end)
    _, stderr = proc.communicate(timeout=60)
    assert (proc.returncode, stderr.decode()) == (EXIT_BROKEN_PIPE, "")
    assert not list((kube_home / "log").glob("crash-*.log"))


# -- hostile text from formulas --------------------------------------------------------------------


@pytest.fixture
def hostile_archive(tmp_path: Path) -> Path:
    files = formula_files(
        "trojan",
        "1.0.0",
        description=f"safe{HOSTILE}evil",
        maintainers=["Mallory \u202eyrollaM\u2069 <m@example.com>"],
        details=f"line one{HOSTILE}\nline two",
        keywords=["trojan"],
    )
    remote = make_repo(tmp_path / "remote", files)
    assert kube("update", "--repo", str(remote)).exit_code == 0
    return remote


def test_search_and_info_escape_controls_and_bidi_overrides(hostile_archive: Path) -> None:
    search = kube("search", "trojan")
    assert search.exit_code == 0, search.output
    assert_no_hostile_character(search.output)
    assert "safe\\x1b[2J\\x9b31m\\u202a\\u202b\\u202c\\u202d\\u202e\\u2066" in search.stdout
    assert "\\u200b\\u200c\\u200d\\ufeff\\u2028\\U000e0041evil" in search.stdout

    info = kube("info", "trojan")
    assert info.exit_code == 0, info.output
    assert_no_hostile_character(info.output)
    assert "Maintainers: Mallory \\u202eyrollaM\\u2069 <m@example.com>" in info.stdout
    assert "\\u061c" in info.stdout and "\\ufeff" in info.stdout and "\\u200f" in info.stdout


def test_json_output_is_ascii_and_keeps_the_exact_value(hostile_archive: Path) -> None:
    for args in (("info", "trojan", "-o", "json"), ("search", "trojan", "-o", "json")):
        result = kube(*args)
        assert result.exit_code == 0, result.output
        assert result.stdout.isascii(), args
        data = json.loads(result.stdout)
        entry = data if isinstance(data, dict) else data[0]
        assert entry["description"] == f"safe{HOSTILE}evil", "JSON escapes, it does not alter"


def test_errors_and_hints_escape_bidi_overrides(hostile_archive: Path) -> None:
    result = kube("info", f"no{HOSTILE}such")
    assert result.exit_code in (ExitCode.USAGE, ExitCode.NOT_FOUND)
    assert_no_hostile_character(result.output)
    [line] = result.stderr.splitlines()
    assert line.startswith("Error: ") and "\\u202e" in line


def test_lint_findings_escape_bidi_overrides(tmp_path: Path) -> None:
    formula = tmp_path / "formulas" / "lintme"
    formula.mkdir(parents=True)
    (formula / "K3.yaml").write_text(k3("lintme", f"1.0{HOSTILE}"), encoding="utf-8")
    for output in ("table", "json", "github"):
        result = kube("lint", str(formula), "-o", output)
        assert result.exit_code == 1, result.output
        assert_no_hostile_character(result.output)
        assert "\\u202e" in result.output or "\\\\u202e" in result.output, output


def test_dry_run_yaml_keeps_values_and_prints_no_raw_override(capsys: pytest.CaptureFixture[str]) -> None:
    from ruamel.yaml import YAML

    from kube.cli.installing import _print_yaml

    documents = [{"kind": "ConfigMap", "data": {f"k{HOSTILE}": f"v{HOSTILE}", "plain": "é", "multi": "a\nb"}}]
    _print_yaml(documents)
    out = capsys.readouterr().out
    assert_no_hostile_character(out)
    assert list(YAML(typ="safe").load_all(out)) == documents


# -- mistyped commands -----------------------------------------------------------------------------


def test_mistyped_command_suggests_once() -> None:
    result = kube("updat")
    assert result.exit_code == ExitCode.USAGE
    assert result.output.count("Did you mean 'update'?") == 1, result.output


def test_help_for_a_missing_command_is_a_usage_error() -> None:
    result = kube("help", "nosuch")
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr == "Error: no such command `nosuch` (hint: run `kube help` for the list)\n"


# -- kube info and the cluster it reads ------------------------------------------------------------


def test_info_takes_the_cluster_options(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An unreadable kubeconfig given on the command line: no "Installed" line, no error, exit 0."""
    monkeypatch.delenv("KUBECONFIG", raising=False)
    remote = make_repo(tmp_path / "remote", formula_files("offline", "1.0.0"))
    assert kube("update", "--repo", str(remote)).exit_code == 0
    missing = str(tmp_path / "missing-kubeconfig")
    result = kube("info", "offline", "--kubeconfig", missing, "--context", "x", "-n", "ns", "-o", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["installed"] is None


@pytest.mark.cluster
def test_info_reads_the_cluster_named_on_the_command_line(
    cluster: Cluster, namespace: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = f"infoopt-{namespace[-6:]}".strip("-")
    remote = make_repo(tmp_path / "remote", formula_files(name, "3.0.0"))
    assert kube("update", "--repo", str(remote)).exit_code == 0
    assert kube("install", name, "-n", namespace).exit_code == 0
    # No KUBECONFIG and no ~/.kube/config: only --kubeconfig says which cluster.
    monkeypatch.delenv("KUBECONFIG")
    assert kube("info", name, "-o", "json").exit_code == 0
    assert json.loads(kube("info", name, "-o", "json").stdout)["installed"] is None
    chosen = kube("info", name, "--kubeconfig", str(cluster.kubeconfig))
    assert chosen.exit_code == 0, chosen.output
    assert f"Installed:   3.0.0 in {namespace}" in chosen.stdout
    elsewhere = kube("info", name, "--kubeconfig", str(cluster.kubeconfig), "-n", "default")
    assert "Installed:   no" in elsewhere.stdout, elsewhere.output
    here = kube("info", name, "--kubeconfig", str(cluster.kubeconfig), "-n", namespace, "-o", "json")
    assert json.loads(here.stdout)["installed"] == [f"3.0.0 in {namespace}"]


# -- a cluster that never answers ------------------------------------------------------------------


@pytest.fixture
def silent_kubeconfig(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A real TCP server on 127.0.0.1 that accepts connections and never says a word."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    url = f"https://127.0.0.1:{server.getsockname()[1]}"
    config = tmp_path / "silent-kubeconfig"
    config.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [
                    {"name": "silent", "cluster": {"server": url, "insecure-skip-tls-verify": True}}
                ],
                "contexts": [{"name": "silent", "context": {"cluster": "silent", "user": "u"}}],
                "current-context": "silent",
                "users": [{"name": "u", "user": {"token": "t"}}],
            }
        )
    )
    yield config, url
    stop.set()
    thread.join(timeout=5)
    server.close()
    for connection in held:
        connection.close()


@pytest.mark.cluster  # for the cluster's own kubectl; the cluster itself is not asked anything
@pytest.mark.parametrize(("timeout", "within"), [(None, 13), ("2", 5)])
def test_silent_api_server_is_named_in_one_line_quickly(
    cluster: Cluster,
    silent_kubeconfig: tuple[Path, str],
    monkeypatch: pytest.MonkeyPatch,
    timeout: str | None,
    within: int,
) -> None:
    config, url = silent_kubeconfig
    monkeypatch.setenv("PATH", cluster.env["PATH"])
    if timeout is None:
        monkeypatch.delenv("KUBE_REQUEST_TIMEOUT", raising=False)
    else:
        monkeypatch.setenv("KUBE_REQUEST_TIMEOUT", timeout)
    start = time.monotonic()
    proc = kube_process("list", "--kubeconfig", str(config), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, stderr = proc.communicate(timeout=120)
    elapsed = time.monotonic() - start
    assert proc.returncode == ExitCode.CLUSTER
    [line] = stderr.decode().splitlines()
    where = f"server {url}, context silent, kubeconfig {config}"
    expected = f"Error: kubectl get did not answer within {within}s ({where})"
    assert line.startswith(expected), line
    assert elapsed < within + 7, f"took {elapsed:.1f}s"


def test_bad_request_timeout_is_a_usage_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KUBE_REQUEST_TIMEOUT", "soon")
    result = kube("list", "--kubeconfig", str(tmp_path / "none"))
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr.startswith("Error: KUBE_REQUEST_TIMEOUT='soon': give a number of seconds")


# -- make demo and the user's own clusters ---------------------------------------------------------


FAKE_DEV_CLUSTER = """\
#!/usr/bin/env bash
# Stands in for scripts/dev-cluster (starting a real control plane takes minutes): records each call.
echo "$*" >> "$CALLS"
case "$1" in
    start) exit "${START_EXIT:-0}" ;;
    env) echo false ;;  # the demo stops right after the start, and cleans up
esac
"""


def run_demo(tmp_path: Path, **env: str) -> list[str]:
    scripts = tmp_path / "checkout" / "scripts"
    scripts.mkdir(parents=True)
    (scripts / "demo").write_text((REPO / "scripts" / "demo").read_text())
    (scripts / "dev-cluster").write_text(FAKE_DEV_CLUSTER)
    for script in ("demo", "dev-cluster"):
        (scripts / script).chmod(0o755)
    calls = tmp_path / "calls"
    calls.touch()
    subprocess.run(
        [str(scripts / "demo")],
        env={**os.environ, "CALLS": str(calls), **env},
        capture_output=True,
        timeout=60,
        check=False,
    )
    return calls.read_text().splitlines()


def test_demo_stops_only_the_cluster_it_started(tmp_path: Path) -> None:
    calls = run_demo(tmp_path)
    [start, *_, stop] = calls
    assert start.startswith("start --name demo-") and stop.startswith("stop --name demo-"), calls
    assert start.split()[-1] == stop.split()[-1] != "demo", "a run's own name, not the user's `demo`"


def test_demo_that_could_not_start_cleans_up_only_its_own(tmp_path: Path) -> None:
    """A half-started cluster of this run is stopped; it is never one named `demo`."""
    [start, stop] = run_demo(tmp_path, START_EXIT="1")
    assert start.startswith("start --name demo-")
    assert stop == start.replace("start", "stop", 1)
