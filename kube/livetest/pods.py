"""The ``tests/`` step of ``kube test``: create the formula's test Pods and Jobs, wait for them to succeed.

Each test object is created in the test namespace with kube's labels
(``app.kubernetes.io/managed-by=kube``, the formula label, and
``kube.sh/test=<run id>``; a Job's pod template gets them too), so the
leftover check finds anything the tests leave behind. A Pod passes when it
reaches ``Succeeded``, a Job when it is ``Complete``; ``Failed`` (or the
timeout) fails the step with the reason, the state of the pods and the end
of their logs. The objects are deleted afterwards either way.

A node that runs no containers (``kube/clusters/engine/simnode``: labelled
``kube.sh/simulated-node=true``, runtime ``simulated://``) reports Pods
Succeeded without running them. A test whose Pod ran there says nothing, and
the step is ``not run (simulated node)``: never ``passed``. A test that failed
before reaching any node (unschedulable, past its deadline) still fails.
"""

from __future__ import annotations

import copy
import time
import uuid
from typing import Any

from kube.core.errors import ClusterError
from kube.core.findings import Severity
from kube.formula.load import Formula
from kube.k8s.kubectl import Kubectl, ObjectRef
from kube.k8s.objects import FORMULA_LABEL, MANAGED_BY, MANAGED_BY_LABEL, label_value
from kube.lint.manifests import load_file
from kube.livetest.steps import TEST_LABEL, StepFailed, StepNotRun

TEST_SUFFIXES = (".yaml", ".yml", ".json")
SIMULATED_LABEL = "kube.sh/simulated-node"
SIMULATED_RUNTIME = "simulated://"
LOG_LINES = 30
_DONE, _FAILED, _PENDING = "done", "failed", "pending"


def run_tests(kubectl: Kubectl, formula: Formula, namespace: str, timeout: float) -> str:
    """Run the formula's tests/ objects; the step's detail line, or ``StepFailed``."""
    objects = load_tests(formula)
    if not objects:
        return "no tests/ to run"
    run_id = uuid.uuid4().hex[:8]
    payload = [_prepare(obj, formula.name, namespace, run_id) for obj in objects]
    created = kubectl.create(payload)
    refs = [o.ref for o in created if o.ok]
    try:
        refused = [f"{o.ref.display}: {o.reason}: {o.message}" for o in created if not o.ok]
        if refused:
            raise StepFailed(f"test objects refused by the cluster: {refused[0]}", "\n".join(refused))
        seen: dict[str, dict[str, Any]] = {}
        states = _wait(kubectl, refs, timeout, namespace, run_id, seen)
        simulated, every = simulated_nodes(kubectl)
        faked = [ref for ref in refs if _ran_on(ref, seen, simulated, every and states[ref][0] == _DONE)]
        bad = {ref: text for ref, (state, text) in states.items() if state != _DONE and ref not in faked}
        if bad:
            detail = "\n".join(_explain(kubectl, ref, text, seen) for ref, text in bad.items())
            first, text = next(iter(bad.items()))
            raise StepFailed(f"{len(bad)} of {len(refs)} tests failed: {first.display}: {text}", detail)
        if faked:
            nodes = ", ".join(sorted(simulated))
            raise StepNotRun(
                f"not run (simulated node): {len(faked)} of {len(refs)} tests were given to node {nodes},"
                " which runs no containers; run kube test on a real node (kind) for a result"
            )
        return f"{len(refs)} passed: " + ", ".join(f"{r.display} {states[r][1]}" for r in refs)
    finally:
        kubectl.delete(refs)


def simulated_nodes(kubectl: Kubectl) -> tuple[set[str], bool]:
    """(names of the nodes that run no containers, whether every node is one).

    Reading nodes needs a cluster-wide permission; without it nothing is known
    to be simulated (a real cluster is the usual reason for such RBAC).
    """
    try:
        nodes = kubectl.list_objects("nodes", namespace=None)
    except ClusterError:
        return set(), False
    simulated = set()
    for node in nodes:
        metadata = node.get("metadata") or {}
        runtime = ((node.get("status") or {}).get("nodeInfo") or {}).get("containerRuntimeVersion") or ""
        labelled = (metadata.get("labels") or {}).get(SIMULATED_LABEL) == "true"
        if labelled or str(runtime).startswith(SIMULATED_RUNTIME):
            simulated.add(str(metadata.get("name")))
    return simulated, bool(nodes) and len(simulated) == len(nodes)


def _ran_on(ref: ObjectRef, seen: dict[str, dict[str, Any]], nodes: set[str], otherwise: bool) -> bool:
    """Whether a Pod of test ``ref`` was bound to one of ``nodes``; ``otherwise`` when none was seen
    bound anywhere (a Pod can come and go between two polls)."""
    bound = [(pod.get("spec") or {}).get("nodeName") for pod in seen.values() if _belongs(pod, ref)]
    bound = [name for name in bound if name]
    return any(name in nodes for name in bound) if bound else otherwise


def load_tests(formula: Formula) -> list[dict[str, Any]]:
    """The objects of ``tests/*.yaml|yml|json`` in name order (strict YAML, as lint reads them)."""
    directory = formula.path / "tests"
    if not directory.is_dir():
        return []
    objects: list[dict[str, Any]] = []
    for path in sorted(directory.iterdir()):
        if path.is_symlink() or not path.is_file() or not path.name.endswith(TEST_SUFFIXES):
            continue
        docs, findings = load_file(path, f"tests/{path.name}")
        errors = [f for f in findings if f.severity is Severity.ERROR]
        if errors:
            raise StepFailed(f"{errors[0]}", "\n".join(str(f) for f in errors))
        objects += [d.data for d in docs]
    for obj in objects:
        if (obj.get("apiVersion"), obj.get("kind")) not in (("v1", "Pod"), ("batch/v1", "Job")):
            raise StepFailed(f"tests/ may hold only Pods and Jobs, not {obj.get('kind')}")
    return objects


def _prepare(obj: dict[str, Any], formula: str, namespace: str, run_id: str) -> dict[str, Any]:

    data = copy.deepcopy(obj)
    labels = {MANAGED_BY_LABEL: MANAGED_BY, FORMULA_LABEL: label_value(formula), TEST_LABEL: run_id}
    metadata = data.setdefault("metadata", {})
    metadata["namespace"] = namespace
    metadata["labels"] = {**(metadata.get("labels") or {}), **labels}
    if data.get("kind") == "Job":
        template = data.setdefault("spec", {}).setdefault("template", {}).setdefault("metadata", {})
        template["labels"] = {**(template.get("labels") or {}), **labels}
    return data


def _wait(
    kubectl: Kubectl,
    refs: list[ObjectRef],
    timeout: float,
    namespace: str,
    run_id: str,
    seen: dict[str, dict[str, Any]],
) -> dict[ObjectRef, tuple[str, str]]:
    """Poll until every test is done or failed, or ``timeout``; ``seen`` keeps the last state of each
    test Pod (a failed Job's Pods are deleted by the Job controller before they can be shown)."""
    states = {ref: (_PENDING, "not checked yet") for ref in refs}
    deadline = time.monotonic() + timeout
    interval = 0.5
    while True:
        pending = [r for r in refs if states[r][0] == _PENDING]
        for outcome in kubectl.get(pending):
            states[outcome.ref] = _state(outcome.live) if outcome.live else (_FAILED, "disappeared")
        for pod in kubectl.list_objects("pods", namespace=namespace, selector=f"{TEST_LABEL}={run_id}"):
            seen[pod["metadata"]["name"]] = pod
        if all(state != _PENDING for state, _ in states.values()):
            return states
        if time.monotonic() > deadline:
            return {
                ref: (state, f"not done after {timeout:g}s ({text})" if state == _PENDING else text)
                for ref, (state, text) in states.items()
            }
        time.sleep(interval)
        interval = min(interval * 1.5, 2.0)


def _state(obj: dict[str, Any]) -> tuple[str, str]:
    status = obj.get("status") or {}
    if obj.get("kind") == "Pod":
        phase = status.get("phase") or "Pending"
        if phase == "Succeeded":
            return _DONE, "succeeded"
        if phase == "Failed":
            return _FAILED, f"failed: {status.get('reason') or status.get('message') or 'a container failed'}"
        return _PENDING, phase.lower()
    for condition in status.get("conditions") or []:
        if condition.get("status") != "True":
            continue
        if condition.get("type") == "Complete":
            return _DONE, "complete"
        if condition.get("type") == "Failed":
            why = condition.get("message") or condition.get("reason") or "the job failed"
            return _FAILED, f"failed: {why}"
    return _PENDING, f"{status.get('active', 0)} active, {status.get('failed', 0)} failed"


def _explain(kubectl: Kubectl, ref: ObjectRef, text: str, seen: dict[str, dict[str, Any]]) -> str:
    """The test's state, its pods' states and the end of their logs."""
    lines = [f"{ref.display}: {text}"]
    pods = [pod for pod in seen.values() if _belongs(pod, ref)]
    if not pods:
        lines.append("  no pod was ever created")
    for pod in pods:
        name = pod["metadata"]["name"]
        live = kubectl.get_named("pods", name, ref.namespace)
        lines.append(
            f"  pod {name}: {pod_state(live or pod)}" + ("" if live else " (last seen; now deleted)")
        )
        if live:
            lines += [f"    {line}" for line in _logs(kubectl, ref.namespace, name)]
    return "\n".join(lines)


def _belongs(pod: dict[str, Any], ref: ObjectRef) -> bool:
    metadata = pod.get("metadata") or {}
    if ref.kind == "Pod":
        return bool(metadata.get("name") == ref.name)
    owners = metadata.get("ownerReferences") or []
    return any(o.get("kind") == "Job" and o.get("name") == ref.name for o in owners)


def pod_state(pod: dict[str, Any]) -> str:
    status = pod.get("status") or {}
    parts = [str(status.get("phase") or "Pending")]
    if status.get("reason") or status.get("message"):
        parts.append(f"{status.get('reason', '')} {status.get('message', '')}".strip())
    for condition in status.get("conditions") or []:
        if condition.get("status") == "False" and (condition.get("reason") or condition.get("message")):
            parts.append(
                f"{condition.get('type')}: {condition.get('reason', '')} {condition.get('message', '')}"
            )
    for container in status.get("containerStatuses") or []:
        state = container.get("state") or {}
        if "waiting" in state:
            waiting = state["waiting"]
            parts.append(
                f"{container['name']} waiting: {waiting.get('reason', '')} {waiting.get('message', '')}"
            )
        elif "terminated" in state:
            done = state["terminated"]
            parts.append(f"{container['name']} exited {done.get('exitCode')} ({done.get('reason', '')})")
    return "; ".join(p.strip() for p in parts)


def _logs(kubectl: Kubectl, namespace: str, pod: str) -> list[str]:
    ok, lines = kubectl.logs(pod, namespace, tail=LOG_LINES)
    if not ok:
        return [f"(logs unavailable: {lines[0]})"]
    return lines or ["(no log output)"]
