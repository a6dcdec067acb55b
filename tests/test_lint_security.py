"""kube lint on what a formula reaches beyond its namespace, on look-alike install records, and
``lint.ignore`` in K3.yaml (a warning the formula declares why it needs)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kube.cli.app import app
from kube.core.findings import Finding, Severity
from kube.formula.load import LintIgnore, check_formula, load_formula
from kube.lint import run as lint
from tests.gitrepo import k3, write_tree

ROOT = Path(__file__).resolve().parent.parent

K3_HEAD = k3("demo")


def formula(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, manifests: dict[str, str], k3_text: str = K3_HEAD
) -> str:
    """A formula ``formulas/demo`` under tmp_path (the current directory); its path as lint shows it."""
    files: dict[str, str | bytes | None] = {"K3.yaml": k3_text, "README.md": "# demo\n"}
    files.update({f"manifests/{name}": text for name, text in manifests.items()})
    write_tree(tmp_path / "formulas" / "demo", files)
    monkeypatch.chdir(tmp_path)
    return "formulas/demo"


def found(path: str) -> list[tuple[str, str, str]]:
    """(rule, location, message) of every finding of ``path``."""
    return [(f.rule, f.location, f.message) for f in lint.lint([path]).findings]


def invoke(*args: str) -> object:
    return CliRunner().invoke(app, list(args))


# -- Pods: every kind that holds one, every list of containers -------------------------------------

# kind, apiVersion, what goes before the pod spec, the indentation of the pod spec's keys
WORKLOADS = [
    ("Pod", "v1", "spec:\n", 2),
    (
        "Deployment",
        "apps/v1",
        "spec:\n  selector: {matchLabels: {app: x}}\n  template:\n"
        "    metadata: {labels: {app: x}}\n    spec:\n",
        6,
    ),
    (
        "StatefulSet",
        "apps/v1",
        "spec:\n  serviceName: x\n  selector: {matchLabels: {app: x}}\n  template:\n"
        "    metadata: {labels: {app: x}}\n    spec:\n",
        6,
    ),
    (
        "DaemonSet",
        "apps/v1",
        "spec:\n  selector: {matchLabels: {app: x}}\n  template:\n"
        "    metadata: {labels: {app: x}}\n    spec:\n",
        6,
    ),
    (
        "ReplicaSet",
        "apps/v1",
        "spec:\n  selector: {matchLabels: {app: x}}\n  template:\n"
        "    metadata: {labels: {app: x}}\n    spec:\n",
        6,
    ),
    (
        "ReplicationController",
        "v1",
        "spec:\n  selector: {app: x}\n  template:\n    metadata: {labels: {app: x}}\n    spec:\n",
        6,
    ),
    ("Job", "batch/v1", "spec:\n  template:\n    spec:\n", 6),
    (
        "CronJob",
        "batch/v1",
        "spec:\n  schedule: '* * * * *'\n  jobTemplate:\n    spec:\n      template:\n        spec:\n",
        10,
    ),
]


def workload(kind: str, api: str, head: str, indent: int, pod_spec: str) -> str:
    pad = " " * indent
    body = "".join(pad + line + "\n" for line in pod_spec.splitlines())
    return f"apiVersion: {api}\nkind: {kind}\nmetadata:\n  name: w\n{head}{body}"


def line_of(text: str, needle: str) -> int:
    return next(number for number, line in enumerate(text.splitlines(), 1) if needle in line)


POD_SPEC = """\
restartPolicy: Never
hostNetwork: true
hostPID: true
hostIPC: true
initContainers:
  - name: init
    image: busybox:1.36
    securityContext:
      privileged: true
containers:
  - name: main
    image: busybox:1.36
    securityContext:
      allowPrivilegeEscalation: true
      capabilities:
        add:
          - NET_BIND_SERVICE
          - CHOWN
          - NET_ADMIN
ephemeralContainers:
  - name: debug
    image: busybox:1.36
    securityContext:
      capabilities:
        add: [CAP_SYS_ADMIN, ALL]
volumes:
  - name: node-root
    hostPath:
      path: /
"""


@pytest.mark.parametrize(("kind", "api", "head", "indent"), WORKLOADS, ids=[w[0] for w in WORKLOADS])
def test_every_pod_bearing_kind_is_checked_at_the_offending_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str, api: str, head: str, indent: int
) -> None:
    spec = POD_SPEC
    if kind not in ("Pod", "Job", "CronJob"):  # controllers of long-running Pods take only Always
        spec = spec.replace("restartPolicy: Never", "restartPolicy: Always")
    text = workload(kind, api, head, indent, spec)
    base = formula(tmp_path, monkeypatch, {"w.yaml": text})
    shown = f"{base}/manifests/w.yaml"
    at = lambda needle: f"{shown}:{line_of(text, needle)}"  # noqa: E731
    assert sorted(found(base)) == sorted(
        [
            (
                "manifest-host-namespace",
                at("hostNetwork"),
                f"{kind}/w sets hostNetwork: true: its Pods share "
                "the node's network (they can bind and sniff any port of the node)",
            ),
            (
                "manifest-host-namespace",
                at("hostPID"),
                f"{kind}/w sets hostPID: true: its Pods share the node's "
                "process table (they can see and signal every process of the node)",
            ),
            (
                "manifest-host-namespace",
                at("hostIPC"),
                f"{kind}/w sets hostIPC: true: its Pods share the node's "
                "IPC namespace (the shared memory of every process of the node)",
            ),
            (
                "manifest-privileged",
                at("privileged"),
                f"{kind}/w initContainers[0] (`init`) is privileged: "
                "it has every device and capability of the node",
            ),
            (
                "manifest-privilege-escalation",
                at("allowPrivilegeEscalation"),
                f"{kind}/w containers[0] (`main`) "
                "sets allowPrivilegeEscalation: true: setuid programs in it can gain more rights",
            ),
            (
                "manifest-capabilities",
                at("NET_ADMIN"),
                f"{kind}/w containers[0] (`main`) adds the capability "
                "NET_ADMIN: it can change the node's network: routes, firewall, interfaces",
            ),
            (
                "manifest-capabilities",
                at("CAP_SYS_ADMIN"),
                f"{kind}/w ephemeralContainers[0] (`debug`) adds the "
                "capability SYS_ADMIN: mounts, namespaces and much more: close to root on the node",
            ),
            (
                "manifest-capabilities",
                at("CAP_SYS_ADMIN"),
                f"{kind}/w ephemeralContainers[0] (`debug`) adds the "
                "capability ALL: every capability: root on the node in all but name",
            ),
            (
                "manifest-hostpath",
                at("hostPath"),
                f"{kind}/w: volume `node-root` mounts the node's `/` (hostPath)",
            ),
        ]
    )


def test_a_pod_that_stays_in_its_container_has_no_finding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pod = workload(
        "Pod",
        "v1",
        "spec:\n",
        2,
        """\
hostNetwork: false
containers:
  - name: main
    image: busybox:1.36
    securityContext:
      privileged: false
      allowPrivilegeEscalation: false
      capabilities:
        drop: [ALL]
        add: [NET_BIND_SERVICE, SETUID, SETGID, KILL]
volumes:
  - name: scratch
    emptyDir: {}
""",
    )
    assert found(formula(tmp_path, monkeypatch, {"pod.yaml": pod})) == []


def test_a_hostpath_persistent_volume_is_flagged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pv = """\
apiVersion: v1
kind: PersistentVolume
metadata:
  name: node-disk
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  hostPath:
    path: /var/lib/data
"""
    base = formula(tmp_path, monkeypatch, {"pv.yaml": pv})
    assert found(base) == [
        (
            "manifest-hostpath",
            f"{base}/manifests/pv.yaml:8",
            "PersistentVolume/node-disk is the node's `/var/lib/data` (hostPath): "
            "every Pod that claims it reads and writes there",
        )
    ]


def test_security_findings_are_warnings_that_fail_only_strict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pod = workload(
        "Pod",
        "v1",
        "spec:\n",
        2,
        "containers:\n  - {name: m, image: busybox:1.36}\n"
        "volumes:\n  - {name: h, hostPath: {path: /var/run/docker.sock}}\n",
    )
    base = formula(tmp_path, monkeypatch, {"pod.yaml": pod})
    plain = invoke("lint", base)
    assert plain.exit_code == 0, plain.output
    assert "manifest-hostpath" in plain.stdout and "`/var/run/docker.sock`" in plain.stdout
    strict = invoke("lint", "--strict", base)
    assert strict.exit_code == 1
    assert "0 errors, 1 warning; FAILED (strict)." in strict.stderr


def test_a_template_finding_points_at_the_template_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    template = """\
apiVersion: v1
kind: Pod
metadata:
  name: {{ name }}
spec:
  hostPID: {{ host_pid }}
  containers:
    - name: main
      image: busybox:1.36
      securityContext:
        privileged: true
    - name: side
      image: busybox:1.36
      securityContext:
        privileged: true
"""
    k3_text = K3_HEAD + "values: {name: tmpl, host_pid: true}\n"
    base = formula(tmp_path, monkeypatch, {"pod.yaml.tmpl": template}, k3_text)
    shown = f"{base}/manifests/pod.yaml.tmpl"
    assert sorted(found(base)) == [
        # the same text on two lines of the template: each finding at its own line
        (
            "manifest-host-namespace",
            f"{shown}:6",
            "Pod/tmpl sets hostPID: true: its Pods share the node's "
            "process table (they can see and signal every process of the node)",
        ),
        (
            "manifest-privileged",
            f"{shown}:11",
            "Pod/tmpl containers[0] (`main`) is privileged: it has every device and capability of the node",
        ),
        (
            "manifest-privileged",
            f"{shown}:15",
            "Pod/tmpl containers[1] (`side`) is privileged: it has every device and capability of the node",
        ),
    ]


# -- RBAC ------------------------------------------------------------------------------------------


def binding(kind: str, role: str, name: str = "b") -> str:
    return f"""\
apiVersion: rbac.authorization.k8s.io/v1
kind: {kind}
metadata:
  name: {name}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: {role}
subjects:
  - kind: Group
    apiGroup: rbac.authorization.k8s.io
    name: operators
"""


@pytest.mark.parametrize(
    ("kind", "role", "flagged"),
    [
        ("ClusterRoleBinding", "cluster-admin", "full control of every namespace and the cluster itself"),
        ("RoleBinding", "cluster-admin", "full control of its namespace"),
        ("ClusterRoleBinding", "admin", "read every Secret and change every workload in every namespace"),
        ("ClusterRoleBinding", "edit", "read every Secret and change every workload in every namespace"),
        ("RoleBinding", "admin", None),  # stays in its namespace: the usual way to hand one out
        ("RoleBinding", "edit", None),
        ("ClusterRoleBinding", "view", None),
    ],
)
def test_bindings_to_the_admin_roles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str, role: str, flagged: str | None
) -> None:
    base = formula(tmp_path, monkeypatch, {"binding.yaml": binding(kind, role)})
    expected = (
        []
        if flagged is None
        else [
            (
                "manifest-rbac-admin",
                f"{base}/manifests/binding.yaml:8",
                f"{kind}/b binds the ClusterRole `{role}`: its subjects get {flagged}",
            )
        ]
    )
    assert found(base) == expected


def test_wildcards_in_role_rules_each_at_its_item(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    role = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: r
rules:
  - apiGroups: [""]
    resources: [configmaps]
    verbs: [get, list]
  - apiGroups:
      - "*"
    resources:
      - pods
      - "*"
    verbs:
      - "*"
"""
    base = formula(tmp_path, monkeypatch, {"role.yaml": role})
    shown = f"{base}/manifests/role.yaml"
    assert found(base) == [
        (
            "manifest-rbac-wildcard",
            f"{shown}:10",
            'ClusterRole/r: rules[1].apiGroups has "*": every API group, also ones added later',
        ),
        (
            "manifest-rbac-wildcard",
            f"{shown}:13",
            'ClusterRole/r: rules[1].resources has "*": every resource, also ones added later',
        ),
        (
            "manifest-rbac-wildcard",
            f"{shown}:15",
            'ClusterRole/r: rules[1].verbs has "*": every verb, also ones added later',
        ),
    ]


# -- kube's own records ----------------------------------------------------------------------------


def test_objects_that_look_like_install_records_are_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifests = """\
apiVersion: v1
kind: Secret
metadata:
  name: kube.install.other
  labels:
    kube.sh/record: "true"
    kube.sh/formula: other
    app.kubernetes.io/managed-by: kube
type: kube.sh/whatever
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: fine
  labels:
    app.kubernetes.io/managed-by: helm
    app.kubernetes.io/name: fine
"""
    base = formula(tmp_path, monkeypatch, {"record.yaml": manifests})
    shown = f"{base}/manifests/record.yaml"
    report = lint.lint([base])
    assert [(f.rule, f.location, f.severity) for f in report.findings] == [
        ("manifest-reserved", f"{shown}:4", Severity.ERROR),
        ("manifest-reserved", f"{shown}:6", Severity.ERROR),
        ("manifest-reserved", f"{shown}:7", Severity.ERROR),
        ("manifest-reserved", f"{shown}:8", Severity.ERROR),
        ("manifest-reserved", f"{shown}:9", Severity.ERROR),
    ]
    result = invoke("lint", base)
    assert result.exit_code == 1
    assert "names starting with `kube.install.` are kube's own install records" in result.stdout


# -- namespaces ------------------------------------------------------------------------------------


def test_a_hard_coded_namespace_says_install_needs_allow_namespace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  namespace: kube-system\n"
    base = formula(tmp_path, monkeypatch, {"cm.yaml": cm})
    assert found(base) == [
        (
            "manifest-namespace",
            f"{base}/manifests/cm.yaml:5",
            "ConfigMap/c hard-codes namespace `kube-system`: "
            "install refuses it unless given --allow-namespace kube-system",
        )
    ]


# -- lint.ignore -----------------------------------------------------------------------------------

HOST_POD = workload(
    "Pod",
    "v1",
    "spec:\n",
    2,
    "hostNetwork: true\ncontainers:\n  - {name: m, image: busybox:1.36}\n"
    "volumes:\n  - {name: p, hostPath: {path: /proc}}\n",
)
OTHER_POD = HOST_POD.replace("name: w", "name: other")

IGNORES = (
    K3_HEAD
    + """\
lint:
  ignore:
    - rule: manifest-hostpath
      file: manifests/exporter.yaml
      reason: node-exporter reads /proc of the host
    - rule: manifest-host-namespace
      reason: "node metrics are the host's own network counters"
"""
)


def test_ignored_warnings_are_left_out_per_rule_and_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = formula(tmp_path, monkeypatch, {"exporter.yaml": HOST_POD, "other.yaml": OTHER_POD}, IGNORES)
    report = lint.lint([base])
    # the hostPath of the other file is still reported; host-namespace is ignored everywhere
    assert [(f.rule, f.location) for f in report.findings] == [
        ("manifest-hostpath", f"{base}/manifests/other.yaml:10")
    ]
    assert [(s.finding.rule, s.finding.location, s.reason, s.declared) for s in report.suppressed] == [
        (
            "manifest-host-namespace",
            f"{base}/manifests/exporter.yaml:6",
            "node metrics are the host's own network counters",
            f"{base}/K3.yaml:11",
        ),
        (
            "manifest-hostpath",
            f"{base}/manifests/exporter.yaml:10",
            "node-exporter reads /proc of the host",
            f"{base}/K3.yaml:8",
        ),
        (
            "manifest-host-namespace",
            f"{base}/manifests/other.yaml:6",
            "node metrics are the host's own network counters",
            f"{base}/K3.yaml:11",
        ),
    ]


def test_strict_passes_and_lists_each_ignored_warning_with_its_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = formula(tmp_path, monkeypatch, {"exporter.yaml": HOST_POD}, IGNORES)
    strict = invoke("lint", "--strict", base)
    assert strict.exit_code == 0, strict.output
    assert strict.stdout == ""
    assert strict.stderr.splitlines() == [
        f"==> {base}/manifests/exporter.yaml:6 manifest-host-namespace ignored ({base}/K3.yaml:11): "
        "node metrics are the host's own network counters",
        f"==> {base}/manifests/exporter.yaml:10 manifest-hostpath ignored ({base}/K3.yaml:8): "
        "node-exporter reads /proc of the host",
        "==> Linted 1 formula against Kubernetes 1.30: 0 errors, 0 warnings, 2 ignored by lint.ignore; "
        "passed (strict).",
    ]
    plain = invoke("lint", base)  # without --strict only the count says so
    assert plain.exit_code == 0
    assert "ignored (" not in plain.stderr and "2 ignored by lint.ignore" in plain.stderr


def test_json_and_github_show_the_ignored_warnings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    base = formula(tmp_path, monkeypatch, {"exporter.yaml": HOST_POD}, IGNORES)
    data = json.loads(invoke("lint", "--strict", "-o", "json", base).stdout)
    assert data["passed"] is True and data["findings"] == []
    assert [(s["rule"], s["line"], s["reason"], s["declared"]) for s in data["suppressed"]] == [
        (
            "manifest-host-namespace",
            6,
            "node metrics are the host's own network counters",
            f"{base}/K3.yaml:11",
        ),
        ("manifest-hostpath", 10, "node-exporter reads /proc of the host", f"{base}/K3.yaml:8"),
    ]
    github = invoke("lint", "--strict", "-o", "github", base).stdout.splitlines()
    assert github[1] == (
        f"::notice file={base}/manifests/exporter.yaml,line=10,title=manifest-hostpath::"
        "Pod/w: volume `p` mounts the node's `/proc` (hostPath) "
        "(ignored: node-exporter reads /proc of the host)"
    )


def test_an_entry_that_matches_nothing_is_a_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stale = IGNORES.replace("manifests/exporter.yaml", "manifests/gone.yaml")
    base = formula(tmp_path, monkeypatch, {"exporter.yaml": HOST_POD}, stale)
    assert found(base) == [
        (
            "lint-ignore-unused",
            f"{base}/K3.yaml:8",
            "lint.ignore: no `manifest-hostpath` warning in `manifests/gone.yaml` to ignore",
        ),
        (
            "manifest-hostpath",
            f"{base}/manifests/exporter.yaml:10",
            "Pod/w: volume `p` mounts the node's `/proc` (hostPath)",
        ),
    ]


def test_errors_are_never_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Even if an entry slipped past K3.yaml's checks, an error is reported: only warnings match."""
    record = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ntype: kube.sh/install.v1\n"
    base = formula(tmp_path, monkeypatch, {"s.yaml": record})
    loaded = load_formula(Path(base))
    forged = LintIgnore("manifest-reserved", None, "because", 0)
    error = Finding(f"{base}/manifests/s.yaml", 5, "manifest-reserved", "x", Severity.ERROR)
    kept, left_out = lint.apply_ignores(dataclasses.replace(loaded, lint_ignores=(forged,)), base, [error])
    assert error in kept and left_out == []


# -- lint: in K3.yaml ------------------------------------------------------------------------------


def k3_findings(tmp_path: Path, lint_yaml: str) -> list[str]:
    directory = tmp_path / "formulas" / "demo"
    write_tree(directory, {"K3.yaml": K3_HEAD + lint_yaml, "manifests/cm.yaml": "a: 1\n"})
    _, problems = check_formula(directory, display_root=tmp_path)
    return [f"{f} [{f.rule} {f.severity.value}]" for f in problems]


@pytest.mark.parametrize(
    ("lint_yaml", "expected"),
    [
        (
            "lint: [a]\n",
            [
                "formulas/demo/K3.yaml:6 lint: expected a mapping like {ignore: [...]}, got a list "
                "[k3-type error]"
            ],
        ),
        (
            "lint: {ignore: all}\n",
            [
                "formulas/demo/K3.yaml:6 ignore: expected a list of {rule, file, reason} "
                "mappings, got a string [k3-type error]"
            ],
        ),
        (
            "lint: {ignore: [manifest-hostpath]}\n",
            [
                "formulas/demo/K3.yaml:6 lint.ignore[0]: expected a mapping "
                "with rule and reason, got a string [k3-type error]"
            ],
        ),
        (
            "lint: {ignroe: []}\n",
            [
                'formulas/demo/K3.yaml:6 lint.ignroe: unknown key; did you mean "ignore"? '
                "[k3-unknown-key warning]"
            ],
        ),
        (
            "lint:\n  ignore:\n    - rule: manifest-hostpath\n",
            ["formulas/demo/K3.yaml:8 lint.ignore[0].reason: is required [k3-required error]"],
        ),
        (
            "lint:\n  ignore:\n    - rule: manifest-hostpath\n      reason: '  '\n",
            ["formulas/demo/K3.yaml:9 lint.ignore[0].reason: must not be empty [k3-required error]"],
        ),
        (
            "lint:\n  ignore:\n    - rule: Manifest_HostPath\n      reason: r\n",
            [
                'formulas/demo/K3.yaml:8 lint.ignore[0].rule: "Manifest_HostPath" is not a rule id, '
                "like manifest-hostpath [k3-lint error]"
            ],
        ),
        (
            "lint:\n  ignore:\n    - rule: manifest-hostpath\n      file: ../other/x.yaml\n      reason: r\n",
            [
                'formulas/demo/K3.yaml:9 lint.ignore[0].file: "../other/x.yaml" is not a path inside '
                "the formula, like manifests/daemonset.yaml [k3-lint error]"
            ],
        ),
        (
            "lint:\n  ignore:\n    - rule: manifest-hostpath\n      file: /etc/x.yaml\n      reason: r\n",
            [
                'formulas/demo/K3.yaml:9 lint.ignore[0].file: "/etc/x.yaml" is not a path inside '
                "the formula, like manifests/daemonset.yaml [k3-lint error]"
            ],
        ),
        (
            "lint:\n  ignore:\n    - {rule: manifest-hostpath, reason: r, files: x}\n",
            [
                'formulas/demo/K3.yaml:8 lint.ignore[0].files: unknown key; did you mean "file"? '
                "[k3-unknown-key warning]"
            ],
        ),
        (
            "lint:\n  ignore:\n    - {rule: manifest-hostpath, reason: r}\n"
            "    - {rule: manifest-hostpath, reason: s}\n",
            [
                'formulas/demo/K3.yaml:9 lint.ignore[1]: "manifest-hostpath" for "the whole formula" '
                "is already ignored by lint.ignore[0] [k3-lint error]"
            ],
        ),
    ],
)
def test_lint_key_is_checked_at_its_line(tmp_path: Path, lint_yaml: str, expected: list[str]) -> None:
    assert k3_findings(tmp_path, lint_yaml) == expected


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (
            "manifest-hostpth",
            '"manifest-hostpth" is not a rule of kube lint; did you mean "manifest-hostpath"?',
        ),
        (
            "manifest-schema",
            '"manifest-schema" is an error, and only warnings can be ignored (install would fail anyway)',
        ),
    ],
)
def test_lint_ignore_names_a_warning_rule_of_kube_lint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rule: str, message: str
) -> None:
    """kube lint decides which ids exist; the loader that install uses only checks their shape, so a
    formula naming a rule of a newer kube lint still installs with this kube."""
    lint_yaml = f"lint:\n  ignore:\n    - rule: {rule}\n      reason: r\n"
    base = formula(tmp_path, monkeypatch, {"cm.yaml": "a: 1\n"}, K3_HEAD + lint_yaml)
    assert ("k3-lint", f"{base}/K3.yaml:8", f"lint.ignore[0].rule: {message}") in found(base)
    assert k3_findings(tmp_path, lint_yaml) == []


def test_lint_key_loads_the_same_on_the_fast_path(tmp_path: Path) -> None:
    directory = tmp_path / "formulas" / "demo"
    write_tree(directory, {"K3.yaml": IGNORES})
    fast = load_formula(directory, display_root=tmp_path, fast=True)
    strict = load_formula(directory, display_root=tmp_path, fast=False)
    assert fast == strict
    assert fast.lint_ignores == (
        LintIgnore(
            "manifest-hostpath", "manifests/exporter.yaml", "node-exporter reads /proc of the host", 8
        ),
        LintIgnore("manifest-host-namespace", None, "node metrics are the host's own network counters", 11),
    )
    from kube.formula.load import _fast_fields

    assert _fast_fields(IGNORES, "K3.yaml", "demo") is not None, "a clean lint: key keeps the fast path"


# -- the curated archive ---------------------------------------------------------------------------


def test_every_curated_formula_passes_strict_lint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    report = lint.lint(["formulas"])
    assert report.passed(strict=True), [str(f) for f in report.findings]
