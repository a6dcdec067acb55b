"""What ``kube import`` left out of its sources, and why: one entry per reason, with a count.

``kube import`` prints each entry's ``message`` as one line and ``-o json`` lists the entries;
the reasons (``Why``) are what a script compares.
"""

from __future__ import annotations

import shlex
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum


class Why(StrEnum):
    """Why an import left something out: ``reason`` in ``kube import -o json``."""

    # whole objects
    RELEASE_NAMESPACE = "release-namespace"
    CONTROLLED = "made-by-controller"
    ENDPOINTS = "service-endpoints"
    NAMESPACE_DEFAULT = "namespace-default"
    TOKEN = "service-account-token"  # noqa: S105  (a reason, not a secret)
    INSTALL_RECORD = "install-record"
    EVENT = "event"
    PROVISIONED = "provisioned-volume"
    HELM_TEST = "helm-test-hook"
    # fields of the objects kept
    SERVER_RECORD = "server-record"
    HISTORY = "history-annotations"
    INSTALLER_MARKS = "installer-marks"
    CLUSTER_IP = "cluster-ip"
    NODE_PORT = "node-port-without-node-ports"
    DEFAULTED = "cluster-default"
    JOB_SELECTOR = "job-selector"
    SA_SECRETS = "service-account-secrets"
    TOKEN_DATA = "issued-token"  # noqa: S105  (a reason, not a secret)
    VOLUME_BINDING = "volume-binding"
    POD_PLACEMENT = "pod-placement"


_WHOLE = (
    Why.RELEASE_NAMESPACE,
    Why.CONTROLLED,
    Why.ENDPOINTS,
    Why.NAMESPACE_DEFAULT,
    Why.TOKEN,
    Why.INSTALL_RECORD,
    Why.EVENT,
    Why.PROVISIONED,
    Why.HELM_TEST,
)

#: (what, why) per reason. ``{kinds}`` counts the objects by kind ("1 ReplicaSet, 2 Pods"; "9
#: objects" past three kinds), ``{n}`` counts them, ``{names}`` names them, ``{fields}`` names
#: the fields left out of them.
_TEXT: dict[Why, tuple[str, str]] = {
    Why.RELEASE_NAMESPACE: ("{names}", "kube install -n decides the namespace"),
    Why.CONTROLLED: (
        "{kinds} a controller made for another object",
        "the controller makes them again for the one installed",
    ),
    Why.ENDPOINTS: (
        "{kinds} of Services with a selector",
        "the cluster keeps them from the Pods the selector picks",
    ),
    Why.NAMESPACE_DEFAULT: (
        "{n} object(s) every namespace has of its own ({names})",
        "installing them fails with AlreadyExists",
    ),
    Why.TOKEN: ("{n} service-account token Secret(s)", "the new cluster issues its own tokens"),
    Why.INSTALL_RECORD: (
        "{n} install record(s) of kube or Helm ({names})",
        "they record a release of the old namespace; kube install records its own",
    ),
    Why.EVENT: ("{n} Event(s)", "a record of what happened, not something to install"),
    Why.PROVISIONED: (
        "{n} PersistentVolume(s) a provisioner made",
        "the new cluster provisions volumes for its own claims",
    ),
    Why.HELM_TEST: (
        "{n} Helm test hook(s) ({names})",
        "`helm test` runs them against a release; `kube test` checks an installed kube",
    ),
    Why.SERVER_RECORD: (
        "{fields} from {kinds}",
        "the API server records them; the new one records its own",
    ),
    Why.HISTORY: ("{fields} from {kinds}", "kubectl and controllers wrote them about the old objects"),
    Why.INSTALLER_MARKS: (
        "{fields} from {kinds}",
        "kube or Helm marked them as a release of the old namespace; kube install marks them anew",
    ),
    Why.CLUSTER_IP: (
        "{fields} from {kinds}",
        "addresses the old cluster allocated; the new one allocates from its own range",
    ),
    Why.NODE_PORT: (
        "{fields} from {kinds} of a type without node ports",
        "the API refuses node ports there",
    ),
    Why.DEFAULTED: (
        "{fields} from {kinds}",
        "the old cluster filled them in (they are not in kubectl's last-applied configuration); "
        "the new one fills in its own",
    ),
    Why.JOB_SELECTOR: (
        "{fields} from {kinds}",
        "the old cluster made them from the Job's uid; the new one makes its own",
    ),
    Why.SA_SECRETS: ("{fields} from {kinds}", "they name the old cluster's token Secrets"),
    Why.TOKEN_DATA: (
        "{fields} from {kinds}",
        "the token the old cluster issued; the new one fills in its own",
    ),
    Why.VOLUME_BINDING: (
        "{fields} from {kinds}",
        "the volume the old cluster bound; the new one provisions or binds its own",
    ),
    Why.POD_PLACEMENT: (
        "{fields} from {kinds}",
        "the node, priority and token volume the old cluster gave them; the new one gives its own",
    ),
}


def _plural(count: int, noun: str) -> str:
    if count == 1 or noun.endswith("s"):
        return f"{count} {noun}"
    return f"{count} {noun[:-1]}ies" if noun.endswith("y") else f"{count} {noun}s"


def _kinds(displays: Sequence[str]) -> str:
    """``1 ReplicaSet, 2 Pods``; ``9 objects`` when they are of more than three kinds."""
    kinds = Counter(display.split("/", 1)[0] for display in displays)
    if len(kinds) > 3:
        return _plural(len(displays), "object")
    return ", ".join(_plural(count, kind) for kind, count in kinds.items())


#: How ``Left.fields`` names a label or an annotation that went with an object left out whole.
LABEL, ANNOTATION = "labels.", "annotations."


def marks(labels: dict[str, str], annotations: dict[str, str]) -> list[str]:
    """``labels.KEY=VALUE`` and ``annotations.KEY=VALUE``: what ``Left.fields`` lists of the
    labels and annotations that went with an object left out whole."""
    return [f"{LABEL}{k}={v}" for k, v in labels.items()] + [
        f"{ANNOTATION}{k}={v}" for k, v in annotations.items()
    ]


def _marks_of(fields: Sequence[str], prefix: str) -> list[str]:
    return [name.removeprefix(prefix) for name in fields if name.startswith(prefix)]


def _shown(mark: str) -> str:
    """``KEY=VALUE`` on one line (a value of several lines has its line breaks escaped)."""
    return mark.replace("\r", "\\r").replace("\n", "\\n")


def _with_marks(fields: Sequence[str]) -> str:
    """`` with its labels a=b, c=d and annotations e=f``; empty when it had none."""
    parts = [
        f"{noun} {', '.join(map(_shown, found))}"
        for noun, prefix in (("labels", LABEL), ("annotations", ANNOTATION))
        if (found := _marks_of(fields, prefix))
    ]
    return f" with its {' and '.join(parts)}" if parts else ""


def namespace_to_decide(display: str, fields: Sequence[str]) -> str | None:
    """What to decide on the labels and annotations of the release's Namespace, left out:
    kube install creates a missing namespace without them, and a Pod Security label decides
    which Pods the namespace admits (flannel's DaemonSet needs ``enforce=privileged``)."""
    labels, annotations = _marks_of(fields, LABEL), _marks_of(fields, ANNOTATION)
    if not labels and not annotations:
        return None
    commands = ["kubectl create namespace NS"]
    if labels:
        commands.append(f"kubectl label namespace NS {' '.join(map(shlex.quote, labels))}")
    if annotations:
        commands.append(f"kubectl annotate namespace NS {' '.join(map(shlex.quote, annotations))}")
    why = (
        " (a pod-security.kubernetes.io label decides which Pods the namespace admits)"
        if any(label.startswith("pod-security.kubernetes.io/") for label in labels)
        else ""
    )
    verbs = " and ".join(v for v, found in (("label", labels), ("annotate", annotations)) if found)
    return (
        f"the install namespace: {display} was left out{_with_marks(fields)}, and kube install "
        f"creates a missing namespace without them{why}; create and {verbs} the one you install "
        f"into before kube install -n NS: {'; '.join(_shown(c) for c in commands)}"
    )


@dataclass(frozen=True)
class Left:
    """One reason an import left something out, and the objects it left out (or left fields
    out of) for it."""

    why: Why
    objects: tuple[str, ...]  # Kind/name
    # The fields left out of the objects kept; for objects left out whole, the labels and
    # annotations that went with them (``labels.KEY=VALUE``, ``annotations.KEY=VALUE``), which
    # someone must set elsewhere (a Namespace's: on the install namespace).
    fields: tuple[str, ...] = ()

    @property
    def whole(self) -> bool:
        return self.why in _WHOLE

    def message(self) -> str:
        """``what: why``, one line for every object left out for this reason."""
        what, reason = _TEXT[self.why]
        count = len(self.objects)
        text = what.format(
            n=count,
            kinds=_kinds(self.objects),
            names=", ".join(dict.fromkeys(self.objects)),
            fields=", ".join(self.fields),
        ).replace("(s)", "" if count == 1 else "s")
        if self.whole and self.fields:
            text += _with_marks(self.fields)
            reason += "; set them on that namespace (see to decide)"
        return f"{text}: {reason}"


@dataclass
class Tally:
    """What one import left out, by reason; and what it could not decide for the author."""

    objects: dict[Why, list[str]] = field(default_factory=dict)
    fields: dict[Why, dict[str, list[str]]] = field(default_factory=dict)  # why -> field -> objects
    to_decide: list[str] = field(default_factory=list)

    def leave_out(self, why: Why, display: str) -> None:
        self.objects.setdefault(why, []).append(display)

    def left_fields(self, why: Why, display: str, names: Iterable[str]) -> None:
        for name in names:
            self.fields.setdefault(why, {}).setdefault(name, []).append(display)

    def entries(self) -> list[Left]:
        """One entry per reason: objects first, then fields, in ``Why``'s order. What went with
        the objects of a whole reason (a Namespace's labels) is in that reason's entry."""
        found = [
            Left(why, tuple(self.objects[why]), tuple(self.fields.get(why, {})))
            for why in Why
            if why in self.objects
        ]
        for why in Why:
            by_field = self.fields.get(why)
            if by_field and why not in self.objects:
                displays = dict.fromkeys(d for users in by_field.values() for d in users)
                found.append(Left(why, tuple(displays), tuple(by_field)))
        return found
