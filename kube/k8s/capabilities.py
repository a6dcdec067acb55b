"""What the cluster is: its Kubernetes version and the API versions it serves (templates'
``kube.capabilities``, like Helm's ``.Capabilities``).

``read`` asks the API server twice, at the same time (``kubectl get --raw /version`` in a
thread while ``--raw /apis`` runs; about 50 ms each on an idle machine, and kubectl's discovery
cache is not involved), and keeps the answer for the rest of the process, per kubectl binary,
kubeconfig and context: an install with its dependencies reads it once. ``offline`` gives the
same shape for a version named on the command line (``--kube-version 1.20``): the API versions
then come from ``SERVED``, a table of the built-in group/versions by the Kubernetes minor that
introduced and the one that removed them. Custom resources' groups are not in it: offline,
``has`` answers for built-in APIs only.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kube.core.errors import ClusterError, UsageError

if TYPE_CHECKING:
    from kube.k8s.kubectl import Kubectl

__all__ = ["DEFAULT_KUBE_VERSION", "SERVED", "ApiVersions", "Capabilities", "KubeVersion", "offline", "read"]

#: What templates see when no cluster is asked and no --kube-version given (kube lint's default).
DEFAULT_KUBE_VERSION = "1.31"
#: The oldest minor the table below describes.
OLDEST_MINOR = 16
_VERSION_RE = re.compile(r"v?(\d+)\.(\d+)(?:\.(\d+))?")
_GROUP_VERSION_RE = re.compile(r"(?:[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?/)?v[0-9a-z]{1,20}")
_MAX_GROUPS = 2000

# group/version: (first minor serving it, first minor no longer serving it, or None). Minors
# before OLDEST_MINOR count as OLDEST_MINOR: the table is exact from 1.16 on.
SERVED: dict[str, tuple[int, int | None]] = {
    "v1": (0, None),
    "admissionregistration.k8s.io/v1": (16, None),
    "admissionregistration.k8s.io/v1beta1": (0, 22),
    "apiextensions.k8s.io/v1": (16, None),
    "apiextensions.k8s.io/v1beta1": (0, 22),
    "apiregistration.k8s.io/v1": (10, None),
    "apiregistration.k8s.io/v1beta1": (0, 22),
    "apps/v1": (9, None),
    "authentication.k8s.io/v1": (0, None),
    "authentication.k8s.io/v1beta1": (0, 22),
    "authorization.k8s.io/v1": (0, None),
    "authorization.k8s.io/v1beta1": (0, 22),
    "autoscaling/v1": (0, None),
    "autoscaling/v2": (23, None),
    "autoscaling/v2beta1": (0, 25),
    "autoscaling/v2beta2": (12, 26),
    "batch/v1": (0, None),  # CronJob in batch/v1 from 1.21
    "batch/v1beta1": (0, 25),
    "certificates.k8s.io/v1": (19, None),
    "certificates.k8s.io/v1beta1": (0, 22),
    "coordination.k8s.io/v1": (14, None),
    "coordination.k8s.io/v1beta1": (0, 22),
    "discovery.k8s.io/v1": (21, None),
    "discovery.k8s.io/v1beta1": (17, 25),
    "events.k8s.io/v1": (19, None),
    "events.k8s.io/v1beta1": (0, 25),
    "extensions/v1beta1": (0, 22),
    "flowcontrol.apiserver.k8s.io/v1": (29, None),
    "flowcontrol.apiserver.k8s.io/v1beta1": (20, 26),
    "flowcontrol.apiserver.k8s.io/v1beta2": (23, 29),
    "flowcontrol.apiserver.k8s.io/v1beta3": (26, 32),
    "networking.k8s.io/v1": (0, None),  # Ingress in networking.k8s.io/v1 from 1.19
    "networking.k8s.io/v1beta1": (0, 22),
    "node.k8s.io/v1": (20, None),
    "node.k8s.io/v1beta1": (0, 25),
    "policy/v1": (21, None),  # PodDisruptionBudget
    "policy/v1beta1": (0, 25),
    "rbac.authorization.k8s.io/v1": (0, None),
    "rbac.authorization.k8s.io/v1beta1": (0, 22),
    "scheduling.k8s.io/v1": (14, None),
    "scheduling.k8s.io/v1beta1": (0, 22),
    "storage.k8s.io/v1": (0, None),
    "storage.k8s.io/v1beta1": (0, 27),
}


@dataclass(frozen=True)
class KubeVersion:
    """``major``, ``minor`` (as the server says: GKE's "27+" included) and ``git_version`` ("v1.20.2")."""

    major: str
    minor: str
    git_version: str

    @property
    def version(self) -> str:
        return self.git_version

    def _numbers(self) -> tuple[int, int]:
        return int(re.sub(r"\D", "", self.major) or 0), int(re.sub(r"\D", "", self.minor) or 0)

    def at_least(self, text: str) -> bool:
        """``kube_version.at_least("1.21")``: whether the server is that version or newer."""
        match = _VERSION_RE.fullmatch(str(text).strip())
        if match is None:
            raise ValueError(f'at_least: expected a version like "1.21", got {text!r}')
        return self._numbers() >= (int(match.group(1)), int(match.group(2)))

    def __str__(self) -> str:
        return self.git_version


@dataclass(frozen=True)
class ApiVersions:
    """The group/versions served (``apps/v1``, ``v1``); ``has("policy/v1")`` or ``"policy/v1" in``."""

    versions: frozenset[str]

    def has(self, group_version: str) -> bool:
        return group_version in self.versions

    def __contains__(self, group_version: object) -> bool:
        return group_version in self.versions

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self.versions))

    def __len__(self) -> int:
        return len(self.versions)


@dataclass(frozen=True)
class Capabilities:
    """``source``: ``cluster`` when read from the API server, else ``--kube-version X.Y`` or ``default``."""

    kube_version: KubeVersion
    api_versions: ApiVersions
    source: str = "cluster"


def parse_version(text: str, what: str = "--kube-version") -> tuple[int, int, int]:
    match = _VERSION_RE.fullmatch(text.strip())
    if match is None or match.group(1) != "1":
        raise UsageError(f'{what}: expected a Kubernetes version like "1.20", got "{text}"')
    minor = int(match.group(2))
    if minor < OLDEST_MINOR or minor > 99:
        raise UsageError(
            f"{what} {text}: kube knows the APIs of Kubernetes 1.{OLDEST_MINOR} to 1.99",
            hint=f'give a version from 1.{OLDEST_MINOR} on, like "1.30"',
        )
    return 1, minor, int(match.group(3) or 0)


def served(minor: int) -> frozenset[str]:
    """The built-in group/versions Kubernetes 1.<minor> serves (``SERVED``)."""
    return frozenset(
        gv for gv, (since, until) in SERVED.items() if since <= minor and (until is None or minor < until)
    )


def offline(text: str | None = None) -> Capabilities:
    """The capabilities of Kubernetes ``text`` ("1.20", "v1.20.3"; default ``DEFAULT_KUBE_VERSION``)."""
    _, minor, patch = parse_version(text or DEFAULT_KUBE_VERSION)
    source = f"--kube-version {text}" if text else "default"
    version = KubeVersion("1", str(minor), f"v1.{minor}.{patch}")
    return Capabilities(version, ApiVersions(served(minor)), source)


_CACHE: dict[tuple[str, ...], Capabilities] = {}


def read(kubectl: Kubectl) -> Capabilities:
    """The cluster's capabilities, read once per process for each kubectl, kubeconfig and context."""
    key = (kubectl.binary, kubectl.kubeconfig or "", kubectl.context or "", os.environ.get("KUBECONFIG", ""))
    if key not in _CACHE:
        _CACHE[key] = _read(kubectl)
    return _CACHE[key]


def read_raw(kubectl: Kubectl, path: str) -> object:
    """The JSON the API server answers at ``path`` (``/version``, ``/apis/batch/v1``)."""
    code, out, err = kubectl.run("get", "--raw", path, read=True)
    if code != 0:
        raise kubectl._fail("get --raw " + path, err, out)
    try:
        return json.loads(out)
    except ValueError:
        raise ClusterError(f"the API server's {path} is not JSON") from None


def _read(kubectl: Kubectl) -> Capabilities:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        version = pool.submit(read_raw, kubectl, "/version")
        groups = read_raw(kubectl, "/apis")
        info = version.result()
    if not isinstance(info, dict):
        raise ClusterError("the API server's /version is not a JSON object")
    fields = [info.get(k) for k in ("major", "minor", "gitVersion")]
    if not all(isinstance(f, str) and 0 < len(f) <= 64 for f in fields):
        raise ClusterError("the API server's /version has no major, minor and gitVersion")
    found = {"v1"}
    items = groups.get("groups") if isinstance(groups, dict) else None
    for group in (items if isinstance(items, list) else [])[:_MAX_GROUPS]:
        versions = group.get("versions") if isinstance(group, dict) else None
        for version in versions if isinstance(versions, list) else []:
            gv = version.get("groupVersion") if isinstance(version, dict) else None
            if isinstance(gv, str) and _GROUP_VERSION_RE.fullmatch(gv):
                found.add(gv)
    major, minor, git = (str(f) for f in fields)
    return Capabilities(KubeVersion(major, minor, git), ApiVersions(frozenset(found)))
