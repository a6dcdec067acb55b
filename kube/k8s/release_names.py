"""What a release is called: its name's rules, its records' name prefix, labels and selector.

Apart from ``kube.k8s.release_format`` (the record documents): rendering labels every object
with its release and checks the name, and a render with no cluster (``kube template``, a dry
run) reads no record, so it does not load the record format, its dataclasses and codecs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kube.core.errors import UsageError
from kube.k8s.kubectl import is_dns_label, validate_namespace
from kube.k8s.objects import LABEL_PREFIX, MANAGED_BY, MANAGED_BY_LABEL

if TYPE_CHECKING:
    from kube.k8s.kubectl import Kubectl

#: Records are ``kube.release.<release>.v<N>`` (``kube.k8s.release_format``).
NAME_PREFIX = "kube.release."
RELEASE_LABEL = f"{LABEL_PREFIX}/release"
#: On every record of either format (``kube.k8s.records`` is format 1).
RECORD_LABEL = f"{LABEL_PREFIX}/record"
#: Selects every record of either format, and nothing else.
RECORDS_SELECTOR = f"{MANAGED_BY_LABEL}={MANAGED_BY},{RECORD_LABEL}=true"
#: Helm's limit too: object names are built from the release name plus a suffix.
MAX_NAME = 53
#: Namespaces an uninstall never deletes, whoever created them.
PROTECTED_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})


def validate_release_name(name: str) -> str:
    if len(name) > MAX_NAME or not is_dns_label(name):
        raise UsageError(
            f"invalid release name {name!r}: use lower-case letters, digits and '-', "
            f"starting and ending with a letter or digit, at most {MAX_NAME} characters",
            hint="choose another with --name",
        )
    return name


def read_records_ahead(kubectl: Kubectl, namespace: str | None) -> None:
    """Start reading every record in ``namespace`` (the whole cluster: None) now, the read
    ``kube.k8s.releases`` makes first (``Kubectl.read_ahead``): kubectl starts and asks while
    kube loads and renders the formula. An invalid namespace starts nothing (the command refuses it)."""
    if namespace is not None and not is_dns_label(namespace):
        return
    kubectl.list_objects_ahead(
        "secrets", namespace=validate_namespace(namespace) if namespace else None, selector=RECORDS_SELECTOR
    )


def install_calls_ahead(kubectl: Kubectl, namespace: str | None, *, dry_run: bool) -> None:
    """Start an install's first read (``Kubectl.read_ahead``): the records of the install
    namespace, or without one the kubeconfig's namespace, which that read needs. And, unless
    it is a dry run, its first wave, a validated ``create``, waiting for its input
    (``Kubectl.start_waiting``): it fetches the server's OpenAPI document while kube renders.
    (The record's closing ``replace`` starts when that wave is sent: ``kube.install.create``.)"""
    if namespace is None:
        kubectl.current_namespace_ahead()
    else:
        read_records_ahead(kubectl, namespace)
    if not dry_run:
        kubectl.create_waiting()


def uninstall_reads_ahead(kubectl: Kubectl) -> None:
    """Start an uninstall's reads that need nothing it learns first: every record of the cluster
    (``read_records_ahead``) and the read of the objects they list, waiting for that list
    (``Kubectl.start_waiting``). What else lives in the namespace is read once the records say
    kube created it (``kube.install.uninstall``): started here, that read and the server's
    types were wasted on every other uninstall, and slowed the records read that all wait for."""
    read_records_ahead(kubectl, None)
    kubectl.get_waiting()


# Most objects one formula may render, and so one record may list. The largest real packages stay
# far below: kube-prometheus-stack renders about 200 objects, Istio about 300, a Crossplane provider
# with every CRD about 1,000. Past that a formula is a mistake (a loop gone wrong) or an attack on
# the machine running kube; and the record, one Secret of at most 1 MiB, must list every object.
MAX_OBJECTS = 5000
