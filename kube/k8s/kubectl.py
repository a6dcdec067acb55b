"""Every call kube makes to a cluster: the only module that knows kubectl's flags and output.

The binary is ``$KUBE_KUBECTL`` or ``kubectl`` on PATH. Every call passes the
``--context``/``--kubeconfig`` it was given, always in the ``--flag=value``
form, and objects travel on stdin (``-f -``) rather than on the command line,
so nothing a formula wrote can be read by kubectl as an option.

``kubectl create`` carries on past an object it cannot create, prints the
ones it did create (``-o json``) and exits 1 with one error line per failure;
``create`` maps both back to the objects given (``kube.kubectl_output``), so a
partial failure says exactly which objects exist.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from kube.core.errors import ClusterError, ProcessError, ProcessTimeout, UsageError
from kube.k8s.kubectl_output import ObjectRef as ObjectRef
from kube.k8s.kubectl_output import Outcome as Outcome
from kube.k8s.kubectl_output import (
    Reason,
    assign_batch_errors,
    assign_errors,
    assign_every_error,
    error_summary,
    is_unreachable,
    json_objects,
    json_stream,
    name_key,
    objects_stream,
    pair_live,
    unserved_types,
    without_warnings,
)

if TYPE_CHECKING:
    from typing import TypeVar

    from kube.core.process import Started, Waiting

    #: A process started before kube asked for it: a read ahead, or a call waiting for its input.
    _Early = TypeVar("_Early", Started, Waiting)

ENV_BINARY = "KUBE_KUBECTL"
#: Seconds one kubectl call may take before kube gives up on it.
DEFAULT_TIMEOUT = 120.0
#: Seconds one read (get, api-resources) may wait for the API server: kubectl's
#: ``--request-timeout``, and the read's whole deadline but for a short margin.
#: A silent server otherwise holds `kube list` for a minute (kubectl retries discovery).
ENV_REQUEST_TIMEOUT = "KUBE_REQUEST_TIMEOUT"
DEFAULT_REQUEST_TIMEOUT = 10.0

_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
CLUSTER_HINT = (
    "check the cluster with `kubectl cluster-info`, or choose another with --context / --kubeconfig"
)


def is_dns_label(text: str) -> bool:
    """A DNS-1123 label: what namespaces and formula names must be."""
    return len(text) <= 63 and _DNS_LABEL.fullmatch(text) is not None


class UnservedTypesError(ClusterError):
    """kubectl refused objects of types the API server does not serve (no CRD, or an apiVersion
    it lacks): ``types`` holds each as (kind, apiVersion)."""

    def __init__(self, message: str, *, types: frozenset[tuple[str, str]]) -> None:
        super().__init__(message, hint="install the types' CustomResourceDefinitions first")
        self.types = types


class ObjectsRefusedError(ClusterError):
    """The API server refused objects of a dry run (an immutable field changed, an invalid
    value): ``refused`` holds the error of each object an error line names."""

    def __init__(self, message: str, *, refused: dict[ObjectRef, str]) -> None:
        super().__init__(message)
        self.refused = refused


def validate_namespace(namespace: str) -> str:
    if not is_dns_label(namespace):
        raise UsageError(
            f"invalid namespace {namespace!r}: use lower-case letters, digits and '-', at most 63 characters"
        )
    return namespace


def request_timeout() -> float:
    """``$KUBE_REQUEST_TIMEOUT`` in seconds (default 10)."""
    text = os.environ.get(ENV_REQUEST_TIMEOUT, "").strip()
    if not text:
        return DEFAULT_REQUEST_TIMEOUT
    try:
        seconds = float(text.removesuffix("s"))
    except ValueError:
        seconds = -1.0
    if not 0 < seconds <= 3600:
        raise UsageError(
            f"{ENV_REQUEST_TIMEOUT}={text!r}: give a number of seconds up to 3600, e.g. 10 or 10s"
        )
    return seconds


def request_flag() -> str:
    return f"--request-timeout={request_timeout():g}s"


def _validation(validate: bool) -> tuple[str, ...]:
    return () if validate else ("--validate=false",)


def check_object_name(name: str, where: str) -> None:
    """Names never reach kubectl's argv, but one that could be taken for an option
    or a path is a formula mistake worth stopping for."""
    if not name or name.startswith("-") or "/" in name or len(name) > 253 or not name.isprintable():
        raise UsageError(f"{where}: invalid object name {name!r}")


#: The table, not ``--output=name``: its API version lets kube name each type in full (below).
_NAMESPACED_RESOURCES = ("api-resources", "--verbs=list", "--namespaced=true")
_CONTEXT_NAMESPACE = ("config", "view", "--minify", "--output=jsonpath={..namespace}")


def resource_names(table: str) -> list[str]:
    """The types in ``kubectl api-resources``' table, as ``get`` takes them without a second look.

    ``get leases.coordination.k8s.io`` first reads the name as resource ``leases``, version
    ``coordination``, group ``k8s.io``; finding no such type, kubectl drops its cached discovery
    and reads every API group from the server again before it tries the group ``coordination.k8s.io``
    (about 50 ms, once per call). ``leases.v1.coordination.k8s.io`` matches at once. A core type
    keeps its bare name; a table without an API version column (older kubectl: ``APIGROUP``)
    gives ``resource.group``."""
    lines = [line for line in table.splitlines() if line.strip()]
    if not lines:
        return []
    header = lines[0]
    columns = {m.group(): m.start() for m in re.finditer(r"\S+", header)}
    if "NAME" not in columns:
        return [line.split()[0] for line in lines]  # --output=name
    starts = sorted(columns.values())

    def cell(line: str, word: str) -> str:
        if word not in columns:
            return ""
        start = columns[word]
        end = next((s for s in starts if s > start), None)
        return line[start:end].strip()

    names = []
    for line in lines[1:]:
        name = cell(line, "NAME")
        if "APIVERSION" in columns:
            group, _, version = cell(line, "APIVERSION").rpartition("/")
            names.append(f"{name}.{version}.{group}" if group else name)
        else:
            group = cell(line, "APIGROUP")
            names.append(f"{name}.{group}" if group else name)
    return [n for n in names if n]


def _list_args(resource: str, namespace: str | None, selector: str) -> list[str]:
    args = ["get", resource, "--output=json"]
    args.append(f"--namespace={validate_namespace(namespace)}" if namespace else "--all-namespaces")
    if selector:
        args.append(f"--selector={selector}")
    return args


def _many_args(resources: Sequence[str], namespace: str) -> list[str]:
    return [
        "get", ",".join(resources), "--ignore-not-found", "--output=json",
        f"--namespace={validate_namespace(namespace)}", request_flag(),
    ]  # fmt: skip


#: Reads started ahead (``Kubectl.read_ahead``), by argv: the environment they run in, the process.
_AHEAD: dict[tuple[str, ...], tuple[dict[str, str], Started]] = {}
#: Calls started before their input was known (``Kubectl.start_waiting``), by argv, the same way.
_WAITING: dict[tuple[str, ...], tuple[dict[str, str], Waiting]] = {}


def _take(
    registry: dict[tuple[str, ...], tuple[dict[str, str], _Early]], argv: Sequence[str],
    environment: Mapping[str, str],
) -> _Early | None:  # fmt: skip
    """The process started early with this argv and environment, now taken; None when there is none."""
    entry = registry.pop(tuple(argv), None)
    if entry is None:
        return None
    started_env, started = entry
    if started_env != environment:
        started.cancel()
        return None
    return started


def stop_early() -> None:
    """Stop every process started early that nobody took: when a command ends (its answer would
    be stale for the next one in the same process), and at exit."""
    _stop(_AHEAD)
    _stop(_WAITING)


def _stop(registry: dict[tuple[str, ...], tuple[dict[str, str], _Early]]) -> None:
    while registry:
        _, (_, started) = registry.popitem()
        started.cancel()


def _remember(registry: dict[tuple[str, ...], tuple[dict[str, str], _Early]], argv: Sequence[str],
              environment: dict[str, str], started: _Early) -> None:  # fmt: skip
    if not _AHEAD and not _WAITING:
        import atexit

        # Registering twice is harmless: the second call finds nothing left to stop.
        atexit.unregister(stop_early)
        atexit.register(stop_early)
    registry[tuple(argv)] = (environment, started)


def cancel_waiting() -> None:
    """Stop every call started before its input was known: what they loaded may be out of date
    (a hook ran, and may have added types the API server now serves)."""
    _stop(_WAITING)


def _create_args(*, server_dry_run: bool, validate: bool) -> tuple[str, ...]:
    dry = ("--dry-run=server",) if server_dry_run else ()
    return ("create", "--filename=-", "--output=json", *dry, *_validation(validate))


def _replace_args(*, validate: bool) -> tuple[str, ...]:
    return ("replace", "--filename=-", "--output=json", *_validation(validate))


def _get_args() -> tuple[str, ...]:
    return ("get", "--filename=-", "--ignore-not-found", "--output=json", request_flag())


def _delete_args(*, wait: bool, wait_for: float) -> tuple[str, ...]:
    args = (
        "delete",
        "--filename=-",
        "--ignore-not-found",
        "--output=name",
        f"--wait={'true' if wait else 'false'}",
    )
    return (*args, f"--timeout={max(1, int(wait_for))}s") if wait else args


#: The kubectl binaries that said they lack ``--show-managed-fields`` (older than 1.21).
_OLDER_THAN_1_21: set[str] = set()
#: An object a call did not print back, where no error line names it.
_NOT_SAID = ("Unknown", "not confirmed: kubectl printed no error naming it")


class Kubectl:
    """One cluster, as named by a kubeconfig and a context."""

    def __init__(
        self,
        context: str | None = None,
        kubeconfig: str | None = None,
        namespace: str | None = None,
        *,
        binary: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.context = context
        self.kubeconfig = kubeconfig
        self.namespace = validate_namespace(namespace) if namespace else None
        self.binary = binary or os.environ.get(ENV_BINARY) or "kubectl"
        self.timeout = timeout
        self._context_namespace: str | None = None  # the kubeconfig's, once read

    # -- plumbing -------------------------------------------------------------------------------

    def argv(self, *args: str) -> list[str]:
        argv = [self.binary]
        if self.context:
            argv.append(f"--context={self.context}")
        if self.kubeconfig:
            argv.append(f"--kubeconfig={self.kubeconfig}")
        argv.extend(args)
        return argv

    def environment(self) -> dict[str, str]:
        """kubectl's environment: the user's (exec credential plugins and proxies need it), with
        ``KUBECONFIG`` only when no ``--kubeconfig`` was given (then it is the user's choice of
        cluster), and kuberc preferences off: they can add default flags and aliases to the very
        commands kube runs (kubectl 1.33 and later; older ones ignore the variable)."""
        env = dict(os.environ)
        if self.kubeconfig:
            env.pop("KUBECONFIG", None)
        env["KUBECTL_KUBERC"] = "false"
        return env

    def run(
        self,
        *args: str,
        input: str | None = None,
        timeout: float | None = None,
        read: bool = False,
        env: Mapping[str, str] | None = None,
    ) -> tuple[int, str, str]:
        """``read``: a read of one request, bounded as a whole by ``request_timeout()``.
        (Reads of many objects or types pass ``request_flag()``: each request is bounded.)
        ``env``: variables added to kubectl's environment. A call that ``read_ahead`` started
        takes that process's answer instead of starting another."""
        from kube.core import process

        argv, limit, environment = self._call(args, timeout, read, env)
        try:
            if input is None and (started := _take(_AHEAD, argv, environment)) is not None:
                done = started.result(check=False)
            elif input is not None and (waiting := _take(_WAITING, argv, environment)) is not None:
                done = waiting.run(input, timeout=limit, check=False)
            else:
                done = process.run(argv, input=input, timeout=limit, check=False, env=environment)
        except ProcessTimeout as exc:
            raise ClusterError(
                f"kubectl {args[0]} did not answer within {limit:g}s ({self.describe()})", hint=CLUSTER_HINT
            ) from exc
        except ProcessError as exc:
            raise ClusterError(
                f"cannot run kubectl ({self.binary}): {exc.message}",
                hint=f"install kubectl, or point {ENV_BINARY} at it",
            ) from exc
        return done.returncode, done.stdout, done.stderr

    def read_ahead(self, *args: str, timeout: float | None = None, read: bool = False) -> None:
        """Start the read ``run(*args, timeout=..., read=...)`` now, in the background, so that
        its answer is ready when kube asks (kube renders while kubectl starts and reads). The
        first identical call takes it, from this or any other ``Kubectl`` of the same cluster; a
        read nobody took is stopped when kube exits. Only reads: nothing that changes the cluster
        runs before kube decided to run it. A kubectl that cannot start is left for that call
        to report."""
        from kube.core import process

        argv, limit, environment = self._call(args, timeout, read, None)
        if tuple(argv) in _AHEAD:
            return
        try:
            started = process.start(argv, timeout=limit, env=environment)
        except ProcessError:
            return
        _remember(_AHEAD, argv, environment, started)

    def started_ahead(self, *args: str, read: bool = False) -> bool:
        """Whether ``read_ahead`` with these arguments started a read nobody took yet."""
        argv, _, environment = self._call(args, None, read, None)
        entry = _AHEAD.get(tuple(argv))
        return entry is not None and entry[0] == environment

    def drop_ahead(self, *args: str, read: bool = False) -> None:
        """Stop the read ``read_ahead`` started with these arguments, if nobody took it: its
        answer is older than the caller may use."""
        argv, _, environment = self._call(args, None, read, None)
        if (started := _take(_AHEAD, argv, environment)) is not None:
            started.cancel()

    def start_waiting(self, *args: str, env: Mapping[str, str] | None = None) -> None:
        """Start the call ``run(*args, input=..., env=env)`` now, before its input is known:
        kubectl loads, reads the kubeconfig and fetches what it fetches before reading its input
        (for a validated create, the server's OpenAPI document: most of its time) while kube
        renders, then waits on its stdin. The first identical call with input hands it that input
        instead of starting another kubectl. Nothing is sent to it before kube decided to make
        the call, so nothing in the cluster changes earlier than it would have; one never given
        its input is stopped when kube exits (and reads an empty input, no objects, if kube dies)."""
        from kube.core import process

        argv, _, environment = self._call(args, None, False, env)
        if tuple(argv) in _WAITING:
            return
        try:
            waiting = process.start_waiting(argv, env=environment)
        except ProcessError:
            return
        _remember(_WAITING, argv, environment, waiting)

    def create_waiting(self, *, validate: bool = True) -> None:
        """Start ``create`` (``start_waiting``) with these options."""
        self.start_waiting(*_create_args(server_dry_run=False, validate=validate))

    def replace_waiting(self, *, validate: bool = True) -> None:
        """Start ``replace`` (``start_waiting``) with these options."""
        self.start_waiting(*_replace_args(validate=validate))

    def get_waiting(self) -> None:
        """Start ``get`` (``start_waiting``)."""
        self.start_waiting(*_get_args())

    def delete_waiting(self, *, wait: bool = False, wait_for: float | None = None) -> None:
        """Start ``delete`` (``start_waiting``) with these options."""
        self.start_waiting(
            *_delete_args(wait=wait, wait_for=wait_for if wait_for is not None else self.timeout)
        )

    def _call(
        self, args: tuple[str, ...], timeout: float | None, read: bool, env: Mapping[str, str] | None
    ) -> tuple[list[str], float, dict[str, str]]:
        """The argv, time limit and environment of one kubectl call (``run``)."""
        limit = timeout if timeout is not None else self.timeout
        if read:
            args = (*args, request_flag())
            limit = min(limit, request_timeout() + 3)
        return self.argv(*args), limit, {**self.environment(), **(env or {})}

    def describe(self) -> str:
        """``server URL, context NAME`` of this cluster, read from the kubeconfig alone (no network)."""
        from kube.core import process

        where = "--output=jsonpath={.contexts[0].name} {.clusters[0].cluster.server}"
        try:
            # Only ever on the way to an error: a kubectl that hangs must not hold it for long.
            done = process.run(
                self.argv("config", "view", "--minify", where), timeout=2, check=False, env=self.environment()
            )
        except ProcessError:
            done = None
        name, _, server = (
            done.stdout.strip().partition(" ") if done and done.returncode == 0 else ("", "", "")
        )
        parts = [f"server {server}"] if server else []
        if self.context or name:
            parts.append(f"context {self.context or name}")
        if self.kubeconfig:
            parts.append(f"kubeconfig {self.kubeconfig}")
        return ", ".join(parts) or "no cluster configured"

    def _fail(self, verb: str, stderr: str, stdout: str = "") -> ClusterError:
        from kube.core.process import last_line

        text = last_line(without_warnings(stderr) or stdout)
        if is_unreachable(stderr):
            return ClusterError(f"cannot reach the cluster: {text} ({self.describe()})", hint=CLUSTER_HINT)
        return ClusterError(f"kubectl {verb} failed: {text}", hint=CLUSTER_HINT)

    # -- reads ----------------------------------------------------------------------------------

    def current_namespace(self) -> str:
        """The namespace of the kubeconfig context in use, or ``default``. Reads only the kubeconfig."""
        if self.namespace:
            return self.namespace
        if self._context_namespace is None:
            # Read once: an install asks for it when it renders and again when it plans.
            code, out, _ = self.run(*_CONTEXT_NAMESPACE, timeout=30)
            namespace = out.strip() if code == 0 else ""
            valid = namespace and _DNS_LABEL.fullmatch(namespace)
            self._context_namespace = namespace if valid else "default"
        return self._context_namespace

    def namespace_or_current(self, namespace: str | None) -> str:
        """``namespace`` (``-n``), checked, or without one ``current_namespace``."""
        return validate_namespace(namespace) if namespace else self.current_namespace()

    def current_namespace_ahead(self) -> None:
        """Start ``current_namespace``'s read of the kubeconfig now, when it will need one."""
        if not self.namespace:
            self.read_ahead(*_CONTEXT_NAMESPACE, timeout=30)

    def server_version(self) -> dict[str, Any]:
        """The API server's ``/version`` (``gitVersion``, ``platform``...), in one bounded read."""
        _code, out, err = self.run("version", "--output=json", read=True)
        try:
            data = json.loads(out) if out.strip() else {}
        except ValueError:
            data = {}
        server = data.get("serverVersion") if isinstance(data, dict) else None
        if not isinstance(server, dict):
            raise self._fail("version", err, out)
        return server

    def kubeconfig_view(self) -> dict[str, Any]:
        """This context's kubeconfig alone, credentials included (``--raw``): read to tell the kind
        of credentials and the CA, never to print. Reads only the kubeconfig (no network)."""
        code, out, err = self.run("config", "view", "--minify", "--raw", "--output=json", timeout=30)
        try:
            data = json.loads(out) if code == 0 else None
        except ValueError:
            data = None
        if not isinstance(data, dict):
            from kube.core.process import last_line

            raise ClusterError(f"cannot read the kubeconfig: {last_line(err or out)}", hint=CLUSTER_HINT)
        return data

    def flattened_kubeconfig(self) -> str:
        """This context's kubeconfig alone, certificates inlined (``--flatten``), as YAML text."""
        code, out, err = self.run("config", "view", "--minify", "--flatten", timeout=30)
        if code != 0 or not out.strip():
            from kube.core.process import last_line

            raise ClusterError(f"cannot read the kubeconfig: {last_line(err or out)}", hint=CLUSTER_HINT)
        return out

    def get_named(self, resource: str, name: str, namespace: str | None) -> dict[str, Any] | None:
        """One object by resource type and (validated) name; None when it does not exist."""
        check_object_name(name, resource)
        args = ["get", f"{resource}/{name}", "--ignore-not-found", "--output=json"]
        if namespace:
            args.append(f"--namespace={validate_namespace(namespace)}")
        code, out, err = self.run(*args, read=True)
        if code != 0:
            raise self._fail("get", err, out)
        items = json_objects(out)
        return items[0] if items else None

    def list_objects(
        self, resource: str, *, namespace: str | None, selector: str = ""
    ) -> list[dict[str, Any]]:
        """Objects of ``resource`` in ``namespace`` (every namespace when None).

        Raises ``ClusterError`` (reason ``Forbidden`` in the message) when RBAC refuses.
        """
        code, out, err = self.run(*_list_args(resource, namespace, selector), read=True)
        if code != 0:
            raise self._fail("get", err, out)
        return json_objects(out)

    def list_objects_ahead(self, resource: str, *, namespace: str | None, selector: str = "") -> None:
        """Start ``list_objects`` with these arguments now (``read_ahead``)."""
        self.read_ahead(*_list_args(resource, namespace, selector), read=True)

    def get(
        self, refs: Sequence[ObjectRef], *, timeout: float | None = None, managed_fields: bool = False
    ) -> list[Outcome]:
        """The live state of ``refs`` in one call; a missing object comes back with ``ok=False``.
        ``managed_fields``: with ``metadata.managedFields``, which kubectl 1.21 and later leave
        out unless asked (``--show-managed-fields``); an older kubectl, which does not know the
        flag, always prints them."""
        if not refs:
            return []
        if managed_fields:
            code, out, err = self._with_managed_fields(_get_args(), input=json_stream(refs), timeout=timeout)
        else:
            code, out, err = self.run(*_get_args(), input=json_stream(refs), timeout=timeout)
        live = json_objects(out)
        if code != 0 and not live and is_unreachable(err):
            raise self._fail("get", err, out)
        found = pair_live(refs, live)
        errors = assign_errors([r for r, obj in zip(refs, found, strict=True) if obj is None], err)
        outcomes = []
        for ref, obj in zip(refs, found, strict=True):
            if obj is not None:
                outcomes.append(Outcome(ref, True, obj))
            else:
                reason, message = errors.get(ref, ("NotFound", "not found"))
                outcomes.append(Outcome(ref, False, None, reason, message))
        return outcomes

    def _with_managed_fields(self, args: Sequence[str], **options: Any) -> tuple[int, str, str]:
        """``run(*args, "--show-managed-fields")``: kubectl 1.21 and later print
        ``metadata.managedFields`` only when asked; an older one does not know the flag (and
        always prints them), so it runs without it, then and for the rest of the process."""
        if self.binary not in _OLDER_THAN_1_21:
            code, out, err = self.run(*args, "--show-managed-fields", **options)
            if not (code != 0 and "unknown flag: --show-managed-fields" in err):
                return code, out, err
            _OLDER_THAN_1_21.add(self.binary)
        return self.run(*args, **options)

    def namespaced_resources(self) -> list[str]:
        """Every namespaced resource type the server can list, named in full (``configmaps``,
        ``deployments.v1.apps``, ``leases.v1.coordination.k8s.io``...): see ``resource_names``."""
        code, out, err = self.run(*_NAMESPACED_RESOURCES, read=True)
        if code != 0 and not out.strip():
            raise self._fail("api-resources", err, out)
        return resource_names(out)

    def namespaced_resources_ahead(self) -> None:
        """Start ``namespaced_resources`` now (``read_ahead``)."""
        self.read_ahead(*_NAMESPACED_RESOURCES, read=True)

    def list_many(self, resources: Sequence[str], namespace: str) -> list[dict[str, Any]]:
        """Everything of the given types in one namespace, in one call; unlistable types are skipped."""
        return self._list_many(resources, namespace)[1]

    def list_many_or_none(self, resources: Sequence[str], namespace: str) -> list[dict[str, Any]] | None:
        """``list_many``, or None when kubectl failed and listed nothing: a type the server does
        not have makes it refuse the whole read before it asks for any."""
        code, items = self._list_many(resources, namespace)
        return None if code != 0 and not items else items

    def _list_many(self, resources: Sequence[str], namespace: str) -> tuple[int, list[dict[str, Any]]]:
        if not resources:
            return 0, []
        code, out, err = self.run(*_many_args(resources, namespace))
        items = json_objects(out)
        if code != 0 and not items and is_unreachable(err):
            raise self._fail("get", err, out)
        return code, items

    def list_many_ahead(self, resources: Sequence[str], namespace: str) -> None:
        """Start ``list_many`` with these arguments now (``read_ahead``)."""
        if resources:
            self.read_ahead(*_many_args(resources, namespace))

    def list_many_ahead_started(self, resources: Sequence[str], namespace: str) -> bool:
        """Whether ``list_many_ahead`` with these arguments started a read nobody took yet."""
        return bool(resources) and self.started_ahead(*_many_args(resources, namespace))

    def drop_list_many_ahead(self, resources: Sequence[str], namespace: str) -> None:
        """Stop the read ``list_many_ahead`` started with these arguments (``drop_ahead``)."""
        if resources:
            self.drop_ahead(*_many_args(resources, namespace))

    def diff_server_side(
        self, objects: Sequence[Mapping[str, Any]], *, program: str, field_manager: str
    ) -> None:
        """``kubectl diff --server-side`` of ``objects``: the API server merges each into the live
        object (a dry-run apply, ``--force-conflicts`` as an upgrade applies) and kubectl runs
        ``program LIVE_DIR MERGED_DIR`` (``KUBECTL_EXTERNAL_DIFF``), one YAML file per object in
        each, an empty live file for an object not in the cluster. ``program`` must exit 0:
        then kubectl does too, and any other exit is an error."""
        if not objects:
            return
        payload = objects_stream(objects)
        args = (
            "diff",
            "--server-side",
            "--force-conflicts",
            f"--field-manager={field_manager}",
            "--filename=-",
        )
        env = {"KUBECTL_EXTERNAL_DIFF": program}
        code, out, err = self._with_managed_fields((*args, request_flag()), input=payload, env=env)
        if code != 0:
            if types := unserved_types(err):
                raise UnservedTypesError(f"kubectl diff failed: {error_summary(err)}", types=types)
            named = assign_errors([ObjectRef.of(o) for o in objects], err)
            refused = {ref: f"{reason}: {message}" for ref, (reason, message) in named.items()}
            if refused and not is_unreachable(err):
                raise ObjectsRefusedError(f"kubectl diff failed: {error_summary(err)}", refused=refused)
            raise self._fail("diff", err, out)

    # -- writes ---------------------------------------------------------------------------------

    def create(
        self,
        objects: Sequence[Mapping[str, Any]],
        *,
        timeout: float | None = None,
        server_dry_run: bool = False,
        validate: bool = True,
    ) -> list[Outcome]:
        """Create ``objects`` in order, in one call; one ``Outcome`` per object, in the same order.
        ``server_dry_run``: the API server admits and validates them, and stores nothing.
        ``validate=False``: no client-side schema check, for objects kube itself wrote (its
        records): the check fetches the server's whole OpenAPI document, ~170 ms a process."""
        if not objects:
            return []
        refs = [ObjectRef.of(o) for o in objects]
        payload = objects_stream(objects)
        code, out, err = self.run(
            *_create_args(server_dry_run=server_dry_run, validate=validate), input=payload, timeout=timeout
        )
        created = json_objects(out)
        if code != 0 and not created and is_unreachable(err):
            raise self._fail("create", err, out)
        found = pair_live(refs, created)
        missing = [r for r, obj in zip(refs, found, strict=True) if obj is None]
        errors = assign_batch_errors(missing, err)
        outcomes = []
        for ref, obj in zip(refs, found, strict=True):
            if obj is not None:
                outcomes.append(Outcome(ObjectRef.of(obj), True, obj))
            else:
                # Another object's error is never this one's: only a lone failure takes kubectl's
                # last line as its own; the others quote it as what kubectl said last.
                said = error_summary(err)
                alone = said if len(missing) == 1 else ""
                unnamed = f"not created; kubectl's error names no object: {said}" if said else (
                    "not created; no error of kubectl names it"
                )  # fmt: skip
                reason, message = errors.get(ref, ("Unknown", alone or unnamed))
                outcomes.append(Outcome(ref, False, None, reason, message))
        return outcomes

    def apply(
        self, objects: Sequence[Mapping[str, Any]], *, dry_run: bool = False, timeout: float | None = None
    ) -> list[Outcome]:
        """Server-side apply ``objects`` in one call, as field manager ``kube``, taking over fields
        another manager set (``--force-conflicts``: the release owns what its manifest says; the
        objects an install created belong to ``kubectl create``'s manager until the first apply).

        kubectl carries on past an object it cannot apply, but then prints no object at all:
        when it fails, every outcome is ``ok=False`` with the error assigned to it where an error
        line names it (reason ``Unknown`` otherwise), and the caller reads the objects back.
        ``dry_run``: ``--dry-run=server``, the objects as the API server would store them."""
        if not objects:
            return []
        refs = [ObjectRef.of(o) for o in objects]
        payload = objects_stream(objects)
        code, out, err = self.run(
            "apply", "--server-side", "--field-manager=kube", "--force-conflicts", "--filename=-",
            "--output=json", *(["--dry-run=server"] if dry_run else []), input=payload, timeout=timeout,
        )  # fmt: skip
        applied = json_objects(out)
        if code != 0 and not applied and is_unreachable(err):
            raise self._fail("apply", err, out)
        found = pair_live(refs, applied)
        missing = [r for r, obj in zip(refs, found, strict=True) if obj is None]
        errors, every_named = assign_every_error(missing, err)
        # kubectl goes on past an object it cannot apply: when its errors all name other objects,
        # it refused none of the rest (the caller reads them back to see them applied).
        unnamed = (
            (Reason.NOT_REFUSED, "kubectl's errors name other objects only")
            if errors and every_named
            else ("Unknown", error_summary(err) or "not applied")
        )
        outcomes = []
        for ref, obj in zip(refs, found, strict=True):
            if obj is not None:
                outcomes.append(Outcome(ObjectRef.of(obj), True, obj))
            else:
                reason, message = errors.get(ref, unnamed)
                outcomes.append(Outcome(ref, False, None, reason, message))
        return outcomes

    def replace(self, obj: Mapping[str, Any], *, validate: bool = True) -> dict[str, Any]:
        """Replace one object (optimistic: a ``resourceVersion`` in ``obj`` must still be current).
        ``validate``: as for ``create``."""
        code, out, err = self.run(*_replace_args(validate=validate), input=json.dumps(obj))
        if code != 0:
            raise self._fail("replace", err, out)
        items = json_objects(out)
        return items[0] if items else dict(obj)

    def replace_many(self, objects: Sequence[Mapping[str, Any]], *, dry_run: bool = False) -> list[Outcome]:
        """Replace ``objects`` in one call, each only if its ``resourceVersion`` is still current;
        one that kubectl did not print back was not replaced (``ok=False``, its error where a
        line names it). ``dry_run``: ``--dry-run=server``, the objects as they would be stored."""
        if not objects:
            return []
        refs = [ObjectRef.of(o) for o in objects]
        payload = objects_stream(objects)
        args = (*_replace_args(validate=False), *(["--dry-run=server"] if dry_run else []))
        code, out, err = self.run(*args, input=payload)
        replaced = json_objects(out)
        if code != 0 and not replaced and is_unreachable(err):
            raise self._fail("replace", err, out)
        found = pair_live(refs, replaced)
        errors = assign_errors([r for r, obj in zip(refs, found, strict=True) if obj is None], err)
        return [
            Outcome(ref, True, obj) if obj is not None
            else Outcome(ref, False, None, *errors.get(ref, _NOT_SAID))
            for ref, obj in zip(refs, found, strict=True)
        ]  # fmt: skip

    def patch_named(
        self, resource: str, name: str, namespace: str | None, patch: Mapping[str, Any]
    ) -> dict[str, Any]:
        """A JSON merge patch of one object; a ``metadata.resourceVersion`` in it must still be current."""
        check_object_name(name, resource)
        args = ["patch", f"{resource}/{name}", "--type=merge", f"--patch={json.dumps(patch)}"]
        args.append("--output=json")
        if namespace:
            args.append(f"--namespace={validate_namespace(namespace)}")
        code, out, err = self.run(*args)
        if code != 0:
            raise self._fail("patch", err, out)
        items = json_objects(out)
        return items[0] if items else {}

    def delete(
        self,
        refs: Sequence[ObjectRef],
        *,
        wait: bool = False,
        timeout: float | None = None,
        wait_for: float | None = None,
    ) -> list[Outcome]:
        """Delete ``refs`` in the order given, in one call; a missing object counts as deleted.

        ``wait``: kubectl then watches every object it deleted until the API server no longer has
        it, for ``wait_for`` (default ``timeout``) at most. When it says so for all of them (it
        exits 0), each deleted object's outcome has reason ``Gone``: a read answered NotFound (or
        showed another uid). ``timeout`` bounds the whole call."""
        if not refs:
            return []
        limit = timeout if timeout is not None else self.timeout
        args = _delete_args(wait=wait, wait_for=wait_for if wait_for is not None else limit)
        code, out, err = self.run(*args, input=json_stream(refs), timeout=limit + 15)
        if code != 0 and not out.strip() and is_unreachable(err):
            raise self._fail("delete", err, out)
        deleted = {name_key(line) for line in out.splitlines() if line.strip()}
        pending = [r for r in refs if (r.kind.lower(), r.group, r.name) not in deleted]
        errors = assign_errors(pending, err) if code != 0 else {}
        outcomes = []
        for ref in refs:
            # Not named in the output and no error: --ignore-not-found skipped it, it was gone.
            missing = ("NotFound", "") if (ref.kind.lower(), ref.group, ref.name) not in deleted else ("", "")
            reason, message = errors.get(ref, missing)
            if wait and code == 0 and not reason:
                reason = Reason.GONE
            # A type the server no longer knows (its CRD is gone) has nothing left to delete.
            ok = reason in ("", "NotFound", "NoMatch", Reason.GONE)
            outcomes.append(Outcome(ref, ok, None, reason, message))
        return outcomes

    def delete_named(self, resource: str, name: str, namespace: str | None, *, wait: bool = False) -> None:
        check_object_name(name, resource)
        args = ["delete", f"{resource}/{name}", "--ignore-not-found", f"--wait={'true' if wait else 'false'}"]
        if namespace:
            args.append(f"--namespace={validate_namespace(namespace)}")
        code, out, err = self.run(*args)
        if code != 0:
            raise self._fail("delete", err, out)

    def logs(self, pod: str, namespace: str, *, tail: int) -> tuple[bool, list[str]]:
        """The last ``tail`` lines of every container of a Pod: (ok, lines).

        Not ok when kubectl cannot read them (no kubelet, Pod gone); the lines
        then hold the reason, since logs only ever decorate another failure.
        """
        check_object_name(pod, "pods")
        code, out, err = self.run(
            "logs",
            f"pod/{pod}",
            f"--namespace={validate_namespace(namespace)}",
            "--all-containers=true",
            f"--tail={tail}",
            timeout=30,
        )
        if code != 0:
            return False, [err.strip().splitlines()[-1] if err.strip() else f"kubectl logs exited {code}"]
        return True, out.rstrip().splitlines()[-tail:]
