"""What a release is called: its name's rules, its records' name prefix and its label.

Apart from ``kube.k8s.release_format`` (the record documents): rendering labels every object
with its release and checks the name, and a render with no cluster (``kube template``, a dry
run) reads no record, so it does not load the record format, its dataclasses and codecs."""

from __future__ import annotations

from kube.core.errors import UsageError
from kube.k8s.kubectl import is_dns_label
from kube.k8s.objects import LABEL_PREFIX

#: Records are ``kube.release.<release>.v<N>`` (``kube.k8s.release_format``).
NAME_PREFIX = "kube.release."
RELEASE_LABEL = f"{LABEL_PREFIX}/release"
#: On every record of either format (``kube.k8s.records`` is format 1).
RECORD_LABEL = f"{LABEL_PREFIX}/record"
#: Helm's limit too: object names are built from the release name plus a suffix.
MAX_NAME = 53


def validate_release_name(name: str) -> str:
    if len(name) > MAX_NAME or not is_dns_label(name):
        raise UsageError(
            f"invalid release name {name!r}: use lower-case letters, digits and '-', "
            f"starting and ending with a letter or digit, at most {MAX_NAME} characters",
            hint="choose another with --name",
        )
    return name
