"""``kube test``: the live tier of formula CI, run against a real cluster.

Steps, each timed and reported (``TestReport``); a failed step skips the
ones that build on it, while clean-up always runs:

1. resolve   the formula (a path, the workspace copy, or the archive);
2. namespace a fresh ``kube-test-<name>-<random>`` namespace (and its default
             service account, which Pods need);
3. dependencies  installed first, into the same namespace, with ``--with-deps``
             semantics but from the formula's own archive (the ``formulas/``
             directory it sits in, else the archive): a pull request is tested
             against the dependencies it ships with. Each one is waited for;
4. install   with kube's own pipeline, non-interactive, the hook sandboxed (no
             network, a throw-away HOME; where no sandbox works the step fails
             and says so);
5. ready     every object the install record lists, by the ``--wait`` rules;
6. tests     the ``tests/`` Pods and Jobs, labelled as kube's and the
             formula's; each must reach Succeeded / Complete. A failure shows
             the reason, the pods' states and the end of their logs. On a node
             that runs no containers (the local control plane's simulated
             node) a test's outcome is made up, so the step is ``not run``:
             ``passed`` always means a test ran and passed;
7. uninstall the formula, then its dependencies, newest first;
8. leftovers nothing labelled ``app.kubernetes.io/managed-by=kube`` with the
             formula's label (or a dependency's) is left in the namespace, and
             nothing the install created is left anywhere;
9. cleanup   the namespace is deleted, whatever happened before.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from kube.core.errors import KubeError, NotFoundError
from kube.formula.load import Formula, load_formula
from kube.install import deps, uninstall
from kube.install import pipeline as install
from kube.install.pipeline import InstallOptions, InstallResult, Plan, Source
from kube.k8s import wait
from kube.k8s.kubectl import Kubectl, ObjectRef, validate_namespace
from kube.k8s.kubectl_output import Reason
from kube.k8s.objects import FORMULA_LABEL, MANAGED_BY, MANAGED_BY_LABEL, label_value
from kube.lint.run import archive_root
from kube.livetest import pods
from kube.livetest.steps import (
    FAILED,
    NOT_RUN,
    PASSED,
    SKIPPED,
    STEPS,
    TEST_LABEL,
    StepFailed,
    StepNotRun,
    TestReport,
    TestStep,
)

#: How long the leftovers step waits for objects still being deleted to go.
LEFTOVER_GRACE = 60.0
_T = TypeVar("_T")


@dataclass
class _Run:
    progress: Callable[[str], None]
    steps: list[TestStep] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(s.status == FAILED for s in self.steps)

    def skip(self, names: Sequence[str], why: str) -> None:
        self.steps += [TestStep(name, SKIPPED, 0.0, why) for name in names]

    def step(self, name: str, action: Callable[[], tuple[str, _T]], *, always: bool = False) -> _T | None:
        """Run one step: ``action`` returns (detail, value) or raises; None when failed or skipped."""
        if self.failed and not always:
            self.steps.append(TestStep(name, SKIPPED, 0.0, "an earlier step failed"))
            return None
        self.progress(name)
        start = time.monotonic()
        try:
            detail, value = action()
        except StepFailed as exc:
            text = exc.message + (f"\n{exc.detail}" if exc.detail else "")
            self.steps.append(TestStep(name, FAILED, time.monotonic() - start, text))
            return None
        except StepNotRun as exc:
            self.steps.append(TestStep(name, NOT_RUN, time.monotonic() - start, exc.message))
            return None
        except KubeError as exc:
            text = exc.message + (f" (hint: {exc.hint})" if exc.hint else "")
            self.steps.append(TestStep(name, FAILED, time.monotonic() - start, text))
            return None
        self.steps.append(TestStep(name, PASSED, time.monotonic() - start, detail))
        return value


def namespace_for(formula: str) -> str:
    """``kube-test-<name>-<6 hex>``, at most 63 characters."""
    return f"kube-test-{formula[:46].rstrip('-')}-{uuid.uuid4().hex[:6]}"


def run_test(
    target: str,
    *,
    context: str | None = None,
    kubeconfig: str | None = None,
    timeout: float = 300.0,
    progress: Callable[[str], None] | None = None,
    allow_namespaces: tuple[str, ...] = (),
    namespace: str | None = None,
) -> TestReport:
    """Install ``target`` into a scratch namespace (``namespace`` when given), check it, remove
    it; see the module docstring."""
    if namespace is not None:
        validate_namespace(namespace)
    run = _Run(progress or (lambda _: None))
    kubectl = Kubectl(context=context, kubeconfig=kubeconfig)
    source = run.step("resolve", lambda: _resolve(target))
    if source is None:
        run.skip(STEPS[1:], "the formula was not found")
        return TestReport(target, "", "", tuple(run.steps))
    formula = source.formula
    given = namespace is not None
    namespace = namespace or namespace_for(formula.name)
    installed: list[InstallResult] = []
    try:
        made = run.step("namespace", lambda: _create_namespace(kubectl, namespace, formula.name, given=given))
        run.step(
            "dependencies",
            lambda: _install_dependencies(kubectl, source, namespace, timeout, installed, allow_namespaces),
        )
        result = run.step(
            "install", lambda: _install(kubectl, source, namespace, installed, allow_namespaces)
        )
        run.step("ready", lambda: _ready(kubectl, _given(result), timeout))
        run.step("tests", lambda: _tests(kubectl, formula, namespace, timeout))
    finally:
        if installed:
            run.step("uninstall", lambda: _uninstall(kubectl, installed, timeout), always=True)
            names = {r.formula for r in installed}
            refs = [o.ref for r in installed if r.record for o in r.record.objects]
            run.step("leftovers", lambda: _leftovers(kubectl, namespace, names, refs), always=True)
        else:
            run.skip(["uninstall", "leftovers"], "nothing was installed")
        if made:
            run.step("cleanup", lambda: _delete_namespace(kubectl, namespace, timeout), always=True)
        elif made is False:
            run.skip(["cleanup"], f"namespace {namespace} existed before the test: kept")
        else:
            run.skip(["cleanup"], "no namespace was created")
    return TestReport(formula.name, str(formula.version), namespace, tuple(run.steps))


def _given(value: _T | None) -> _T:
    assert value is not None  # a skipped step never calls its action
    return value


# -- the steps --------------------------------------------------------------------------------------


def _resolve(target: str) -> tuple[str, Source]:
    ref = target
    if not install.is_path(target) and os.path.isdir(target):
        ref = f"./{target}"  # a directory in the current one, not a name
    source = install.resolve(ref)
    return f"{source.formula.name} {source.formula.version} from {source.directory}", source


def _create_namespace(kubectl: Kubectl, namespace: str, formula: str, *, given: bool) -> tuple[str, bool]:
    """The test's namespace, made now (True: cleanup deletes it); a ``-n`` namespace that exists
    already is used as it is and kept (False), as for a user who may not create namespaces."""
    manifest = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": namespace, "labels": {TEST_LABEL: formula}},
    }
    outcome = kubectl.create([manifest])[0]
    existed = given and outcome.reason == Reason.ALREADY_EXISTS
    if not outcome.ok and not existed:
        raise StepFailed(f"cannot create namespace {namespace}: {outcome.reason}: {outcome.message}")
    deadline = time.monotonic() + 30
    # The service account admission plugin refuses Pods until the namespace's default account exists.
    while kubectl.get_named("serviceaccounts", "default", namespace) is None:
        if time.monotonic() > deadline:
            raise StepFailed(f"namespace {namespace} has no default service account after 30s")
        time.sleep(0.3)
    if existed:
        return f"{namespace} (it exists: used, and kept afterwards)", False
    return namespace, True


def _options(wait: float | None, allow_namespaces: tuple[str, ...] = ()) -> InstallOptions:
    return InstallOptions(sandbox=True, interactive=False, wait=wait, allow_namespaces=allow_namespaces)


def _install_dependencies(
    kubectl: Kubectl,
    source: Source,
    namespace: str,
    timeout: float,
    installed: list[InstallResult],
    allow_namespaces: tuple[str, ...] = (),
) -> tuple[str, None]:
    formula = source.formula
    if not formula.dependencies:
        return "none", None
    archive = _archive_of(source)

    def plan(dependency: Formula, where: str) -> Plan:
        return install.plan(install.Source(dependency, dependency.path, "archive"), kubectl, namespace=where)

    # Records elsewhere in the cluster do not count: the dependencies go into the test's own namespace.
    results = deps.install_dependencies(
        formula,
        [],
        lambda name: _load(archive, name),
        namespace=namespace,
        plan=plan,
        install=lambda the_plan: install.install(the_plan, kubectl, _options(timeout, allow_namespaces)),
        installed=installed.append,
    )
    if results and not results[-1].ok:
        raise StepFailed(f"dependency {results[-1].summary}", _object_lines(results[-1]))
    return ", ".join(f"{r.formula} {r.version}" for r in results) + f" (from {archive})", None


def _archive_of(source: Source) -> Path:
    return archive_root(source.directory)


def _load(archive: Path, name: str) -> Formula:
    from kube.core import paths

    kube_archive = paths.formulas_in(paths.archive_dir())
    if kube_archive is not None and os.path.abspath(kube_archive) == os.path.abspath(archive):
        return install.load_from_archive(name)  # fetched when the clone is sparse, and checked
    directory = archive / name
    if not directory.is_dir():
        raise NotFoundError(f"{name} is not in {archive}")
    return load_formula(directory)


def _install(
    kubectl: Kubectl,
    source: Source,
    namespace: str,
    installed: list[InstallResult],
    allow_namespaces: tuple[str, ...] = (),
) -> tuple[str, InstallResult]:
    the_plan = install.plan(source, kubectl, namespace=namespace)
    if the_plan.unsatisfied:
        missing = "; ".join(u.warning for u in the_plan.unsatisfied)
        raise StepFailed(f"dependencies not satisfied: {missing}")
    result = install.install(the_plan, kubectl, _options(None, allow_namespaces))
    if result.record is not None:
        installed.append(result)
    if not result.ok:
        raise StepFailed(result.summary, _object_lines(result))
    hook = "hook ran sandboxed; " if result.hook_ran else "no hook; "
    return hook + result.summary, result


def _ready(kubectl: Kubectl, result: InstallResult, timeout: float) -> tuple[str, None]:
    assert result.record is not None
    report = wait.wait_ready(kubectl, [o.ref for o in result.record.objects], timeout=timeout)
    if report.ready:
        return f"{len(report.statuses)} objects ready", None
    lines = [f"{s.ref.display}: {s.state} ({s.message})" for s in report.statuses]
    pods = _unready_pods(kubectl, result.namespace)
    why = f"; pod {pods[0]}" if pods else ""
    lines += [f"pod {pod}" for pod in pods]
    if report.failed:
        first = report.failed[0]
        raise StepFailed(f"{first.ref.display} failed: {first.message}{why}", "\n".join(lines))
    names = ", ".join(f"{s.ref.display} ({s.message})" for s in report.not_ready)
    raise StepFailed(f"not ready after {timeout:g}s: {names}{why}", "\n".join(lines))


def _unready_pods(kubectl: Kubectl, namespace: str) -> list[str]:
    """``name: state`` of the namespace's Pods that are neither ready nor done: usually the reason."""
    found = []
    for pod in kubectl.list_objects("pods", namespace=namespace):
        status = pod.get("status") or {}
        ready = any(
            c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or []
        )
        if not ready and status.get("phase") != "Succeeded":
            found.append(f"{pod['metadata']['name']}: {pods.pod_state(pod)}")
    return found[:10]


def _tests(kubectl: Kubectl, formula: Formula, namespace: str, timeout: float) -> tuple[str, None]:
    return pods.run_tests(kubectl, formula, namespace, timeout), None


def _uninstall(kubectl: Kubectl, installed: list[InstallResult], timeout: float) -> tuple[str, None]:
    done, problems = [], []
    for result in reversed(installed):
        assert result.record is not None
        release = uninstall.find_release(kubectl, result.record.release, result.record.namespace)
        removed = uninstall.uninstall(kubectl, release, wait=True, timeout=timeout)
        done.append(removed.summary)
        if not removed.ok:
            problems.append(removed.summary)
    if problems:
        raise StepFailed("; ".join(problems))
    return "; ".join(done), None


def _leftovers(
    kubectl: Kubectl, namespace: str, formulas: set[str], refs: list[ObjectRef]
) -> tuple[str, None]:
    wanted = {label_value(name) for name in formulas}
    resources = [
        r for r in kubectl.namespaced_resources() if r != "events" and not r.endswith("events.k8s.io")
    ]
    deadline = time.monotonic() + LEFTOVER_GRACE
    while True:
        left = []
        for obj in kubectl.list_many(resources, namespace):
            labels = (obj.get("metadata") or {}).get("labels") or {}
            if labels.get(MANAGED_BY_LABEL) == MANAGED_BY and labels.get(FORMULA_LABEL) in wanted:
                left.append(f"{obj.get('kind')}/{obj['metadata'].get('name')} in {namespace}")
        left += [f"{o.ref.display} ({o.ref.namespace or 'cluster'})" for o in kubectl.get(refs) if o.live]
        if not left:
            return "nothing labelled by kube is left", None
        if time.monotonic() > deadline:
            raise StepFailed(f"{len(left)} objects left after uninstall: {', '.join(sorted(left)[:10])}")
        time.sleep(1.0)


def _delete_namespace(kubectl: Kubectl, namespace: str, timeout: float) -> tuple[str, None]:
    """Passes only once a read of the API server answers NotFound: a namespace still Terminating
    (a finalizer that never completes) is not deleted, whatever kubectl said about the request."""
    ref = ObjectRef("", "v1", "Namespace", "", namespace)
    limit = min(timeout, 120.0)
    deadline = time.monotonic() + limit
    outcome = kubectl.delete([ref], wait=False, timeout=limit)[0]
    if not outcome.ok:
        raise StepFailed(f"namespace {namespace} not deleted: {outcome.reason}: {outcome.message}")
    left = wait.await_gone(kubectl, [ref], deadline=deadline)
    if left:
        why = _terminating_reason(left[ref])
        raise StepFailed(
            f"namespace {namespace} still Terminating after {limit:g}s: {why}",
            "see what holds it with `kubectl get namespace " + namespace + " -o yaml`",
        )
    return f"namespace {namespace} deleted", None


def _terminating_reason(obj: Mapping[str, Any]) -> str:
    """Why a namespace is still Terminating: the message of its True deletion condition,
    ``NamespaceFinalizersRemaining`` first (``Some content in the namespace has finalizers
    remaining: example.com/hold in 1 resource instances``), else what holds the object itself."""
    status = obj.get("status")
    conditions = status.get("conditions") if isinstance(status, Mapping) else None
    true = [
        c
        for c in (conditions if isinstance(conditions, list) else ())
        if isinstance(c, Mapping) and c.get("status") == "True" and c.get("message")
    ]
    true.sort(key=lambda c: c.get("type") != "NamespaceFinalizersRemaining")
    return str(true[0]["message"]) if true else wait.holding(obj)


def _object_lines(result: InstallResult) -> str:
    return "\n".join(
        f"{o.ref.display}: {o.status}" + (f" ({o.detail})" if o.detail else "") for o in result.objects
    )
