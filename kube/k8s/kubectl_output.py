"""What kubectl prints, read back: object identities, ``-o json`` output and error lines.

kubectl reports a failed object with one line on stderr, in forms that vary
with the error and with kubectl's version:
``Error from server (AlreadyExists): error when creating "STDIN": configmaps "web" already exists``;
a lone invalid object as ``The Service "web" is invalid:`` followed by ``* field: reason`` lines;
an unknown kind as ``unable to recognize "STDIN": no matches for kind ...`` (1.20) or
``resource mapping not found for name: "w" ... ensure CRDs are installed first`` (newer).
``assign_errors`` maps each line to the object it is about.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from kube.k8s.objects import ObjectRef as ObjectRef  # the one reference type, used here and by callers

# Where kubectl names the object in an error: `configmaps "web"`, `Deployment.apps "web"`.
_NAMED = re.compile(r'([A-Za-z][\w.-]*) "([^"]+)"')
_REASON = re.compile(r"^Error from server \((\w+)\)")
_LONE_INVALID = re.compile(r'The [\w.]+ "[^"]*" is invalid')
_NO_MATCH = re.compile(r'no matches for kind "([^"]+)" in version "([^"]+)"')
_JSON_NAME = re.compile(r'"metadata":\{"name":"([^"]+)"')
# kubectl's client-side validation (1.20: ``error validating "STDIN": error validating data:
# ValidationError(ConfigMap): unknown field "bogus" in io.k8s.api.core.v1.ConfigMap; if you choose
# to ignore these errors, turn validation off with --validate=false``): it names the kind, not the
# object, and kubectl stops reading the batch there.
_VALIDATION = re.compile(r'^(?:error: )?error validating "[^"]*": error validating data: (.*)$')
_VALIDATION_KIND = re.compile(r"ValidationError\(([A-Za-z0-9]+)")
_VALIDATE_ADVICE = re.compile(
    r";\s*if you choose to ignore these errors, turn validation off with --validate=false\s*$"
)
_UNREACHABLE = (
    "unable to connect to the server",
    "connection to the server",
    "connection refused",
    "no such host",
    "i/o timeout",
    "tls handshake timeout",
    "couldn't get current server api group list",
    "x509:",
    "must be logged in",
    "unauthorized",
    "context was not found",
    "does not exist",
    "invalid configuration",
    "no configuration has been provided",
    "no such file or directory",
)


class Reason(StrEnum):
    """The reasons kube acts on: the API server's (``Error from server (AlreadyExists)``), what
    kube reads from kubectl's other errors (``NoMatch``, ``Invalid``, ``Error``), and kube's own."""

    ALREADY_EXISTS = "AlreadyExists"
    FORBIDDEN = "Forbidden"
    NOT_FOUND = "NotFound"
    NO_MATCH = "NoMatch"
    INVALID = "Invalid"
    ERROR = "Error"
    NOT_ESTABLISHED = "NotEstablished"  # a CRD that did not become established in time
    INTERRUPTED = "Interrupted"  # kubectl was stopped before it said
    ADOPTED = "Adopted"  # AlreadyExists, but the object is this formula's (an earlier attempt made it)
    VALIDATION = "kubectl validation"  # kubectl's own schema check refused it, before any request
    NOT_ATTEMPTED = "NotAttempted"  # kubectl stopped before it (at an object its validation refused)
    GONE = "Gone"  # deleted, and kubectl waited until a read said the API server no longer has it
    NOT_REFUSED = "NotRefused"  # kubectl printed it not, and its errors all name other objects


@dataclass(frozen=True)
class Outcome:
    """What happened to one object of a create / get / delete call.

    ``live`` is the object as the API server returned it (create, get); ``reason``
    is the API server's reason (``AlreadyExists``, ``Invalid``...), empty on success.
    """

    ref: ObjectRef
    ok: bool
    live: dict[str, Any] | None = None
    reason: str = ""
    message: str = ""


def json_stream(refs: Iterable[ObjectRef]) -> str:
    return objects_stream(r.stub() for r in refs)


def objects_stream(objects: Iterable[Mapping[str, Any]]) -> str:
    """``objects`` as kubectl reads them from ``--filename=-``: one compact JSON object a line."""
    return "".join(json.dumps(o, separators=(",", ":")) + "\n" for o in objects)


def json_objects(text: str) -> list[dict[str, Any]]:
    """Objects in kubectl's ``-o json`` output: one object, a List, or several objects in a row.
    Anything else there is a ``ClusterError``: read as "no objects", it would let kube report a
    release "not installed" when the program it ran was no kubectl it can trust."""
    decoder = json.JSONDecoder()
    items: list[dict[str, Any]] = []
    pos, end = 0, len(text)
    while True:
        while pos < end and text[pos].isspace():
            pos += 1
        if pos >= end:
            return items
        try:
            value, pos = decoder.raw_decode(text, pos)
        except ValueError:
            raise _not_json(text, pos) from None
        if (
            isinstance(value, dict)
            and isinstance(value.get("items"), list)
            and str(value.get("kind", "")).endswith("List")
        ):
            items.extend(i for i in value["items"] if isinstance(i, dict))
        elif isinstance(value, dict):
            items.append(value)


def _not_json(text: str, pos: int) -> Exception:
    from kube.core.errors import ClusterError
    from kube.core.text import safe

    seen = safe(text[pos : pos + 60].splitlines()[0] if text[pos:].strip() else "")
    return ClusterError(
        f"kubectl printed something that is not JSON where kube asked for JSON: {seen!r}",
        hint="check which kubectl kube runs (`KUBE_KUBECTL`, `command -v kubectl`) and that "
        "`kubectl get namespaces -o json` prints JSON",
    )


def name_key(line: str) -> tuple[str, str, str]:
    """``deployment.apps/web`` (``-o name``) -> (kind in lower case, group, name)."""
    word = line.strip().split(" ", 1)[0]
    kind_group, _, name = word.partition("/")
    kind, _, group = kind_group.partition(".")
    return kind.lower(), group, name


def pair_live(refs: Sequence[ObjectRef], live: Sequence[dict[str, Any]]) -> list[dict[str, Any] | None]:
    """Pair each ref with the live object kubectl returned for it (or None).

    By (group, kind, name), then the namespace: an exact namespace match first, else the first
    unpaired ref of that name (a ref may not know its namespace). Linear in refs plus objects.
    """
    result: list[dict[str, Any] | None] = [None] * len(refs)
    by_name: dict[tuple[str, str, str], list[int]] = {}
    for i, ref in enumerate(refs):
        by_name.setdefault((ref.group, ref.kind, ref.name), []).append(i)
    for obj in live:
        got = ObjectRef.of(obj)
        candidates = [
            i
            for i in by_name.get((got.group, got.kind, got.name), ())
            if result[i] is None and refs[i].same_object(got)
        ]
        exact = [i for i in candidates if refs[i].namespace == got.namespace]
        for i in (exact or candidates)[:1]:
            result[i] = obj
    return result


def without_warnings(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.startswith(("Warning:", "W0", "I0")))


def is_unreachable(stderr: str) -> bool:
    text = without_warnings(stderr).lower()
    # "Unable to connect to the server: stream error: stream ID 3; INTERNAL_ERROR": the server
    # answered, and broke off that one request (a 1.20 API server panics on a server-side apply
    # of an APIService): not a cluster out of reach.
    if "stream error" in text and "internal_error" in text:
        return False
    return any(marker in text for marker in _UNREACHABLE) and "error from server" not in text


def error_summary(stderr: str) -> str:
    from kube.core.process import last_line

    text = without_warnings(stderr)
    return last_line(text) if text.strip() else ""


def _error_lines(stderr: str) -> list[str]:
    """kubectl's error lines; an indented or ``* `` line (a lone Invalid error lists its causes so),
    or the CRD advice, continues the one before."""
    lines: list[str] = []
    for line in without_warnings(stderr).splitlines():
        if not line.strip():
            continue
        if lines and (line[:1].isspace() or line.startswith(("* ", "ensure CRDs"))):
            lines[-1] += " " + line.strip()
        else:
            lines.append(line.strip())
    return lines


def _parse_error(line: str) -> tuple[str, str]:
    match = _REASON.match(line)
    if match:
        reason = match.group(1)
    elif (
        "no matches for kind" in line or "resource mapping not found" in line or "unable to recognize" in line
    ):
        reason = Reason.NO_MATCH
    elif _LONE_INVALID.match(line):
        reason = Reason.INVALID
    else:
        reason = Reason.ERROR
    message = line.split("): ", 1)[1] if match and "): " in line else line.removeprefix("error: ")
    message = re.sub(
        r'^error when (creating|deleting|retrieving current configuration of) "[^"]*": ', "", message
    )
    # kube sends every object on stdin: kubectl's "STDIN" names no file the user has.
    return reason, _without_go_values(message.replace(' "STDIN": ', ": "))


#: How much of a Go value the API server prints in an Invalid error is kept ("Invalid value:
#: core.PodTemplateSpec{ObjectMeta:v1.ObjectMeta{...}}" runs to kilobytes for a Job's template).
_GO_VALUE_KEPT = 80
_GO_VALUE = re.compile(r"Invalid value: ([\w.*\[\]]+)\{")


def _without_go_values(message: str) -> str:
    """``message`` with each long Go value of an Invalid error cut to its type and a few fields."""
    out, start = [], 0
    for match in _GO_VALUE.finditer(message):
        if match.start() < start:
            continue
        depth, end = 0, None
        for i in range(match.end() - 1, len(message)):
            depth += {"{": 1, "}": -1}.get(message[i], 0)
            if depth == 0:
                end = i + 1
                break
        if end is None or end - match.start() <= _GO_VALUE_KEPT:
            continue
        out.append(message[start : match.start() + _GO_VALUE_KEPT] + "...}")
        start = end
    return "".join(out) + message[start:] if out else message


def _kind_matches(word: str, ref: ObjectRef) -> bool:
    """Does kubectl's word for a type (``configmaps``, ``Deployment.apps``) name ``ref``'s kind?"""
    base = word.split(".", 1)[0].lower()
    kind = ref.kind.lower()
    plural = kind[:-1] + "ies" if kind.endswith("y") else (kind + "es" if kind.endswith("s") else kind + "s")
    return base in (kind, plural, kind + "s")


def assign_errors(refs: Sequence[ObjectRef], stderr: str) -> dict[ObjectRef, tuple[str, str]]:
    """Map kubectl's error lines to the objects that failed, by the name (and kind) they mention.

    Lines naming no object go to the remaining objects in order when the counts agree: kubectl
    reports each failure once. Refs are looked up by name and by type (ordered dicts, so taking
    one out is constant time): thousands of failures cost no more than thousands of lines.
    """
    return assign_every_error(refs, stderr)[0]


def assign_every_error(
    refs: Sequence[ObjectRef], stderr: str
) -> tuple[dict[ObjectRef, tuple[str, str]], bool]:
    """``assign_errors``, and whether each of kubectl's error lines went to one of ``refs``: then
    kubectl refused no other object, and a call that goes on past errors (apply) sent the rest."""
    assigned: dict[ObjectRef, tuple[str, str]] = {}
    leftovers: list[tuple[str, str]] = []
    by_name: dict[str, dict[ObjectRef, None]] = {}
    by_type: dict[tuple[str, str], dict[ObjectRef, None]] = {}
    for ref in refs:
        by_name.setdefault(ref.name, {})[ref] = None
        by_type.setdefault((ref.kind, ref.api_version), {})[ref] = None
    for line in _error_lines(stderr):
        error = _parse_error(line)
        chosen = _named_in(line, by_name, by_type)
        if chosen is None:
            leftovers.append(error)
        else:
            assigned[chosen] = error
            by_name[chosen.name].pop(chosen, None)
            by_type[(chosen.kind, chosen.api_version)].pop(chosen, None)
    rest = [r for r in refs if r not in assigned]
    if len(rest) == len(leftovers):
        assigned.update(zip(rest, leftovers, strict=True))
        return assigned, True
    return assigned, not leftovers


def assign_batch_errors(refs: Sequence[ObjectRef], stderr: str) -> dict[ObjectRef, tuple[str, str]]:
    """``assign_errors`` for a batch kubectl reads in order (create, apply), which it stops at the
    first object its own validation refuses: that object (the first one left, of the kind the
    error names) gets reason ``kubectl validation`` with the message, every object after it that
    no line names was never sent (``NotAttempted``), and the other lines are assigned as usual.
    ``refs`` are the objects kubectl did not return, in the order sent."""
    lines = _error_lines(stderr)
    found = next(((i, m) for i, line in enumerate(lines) if (m := _VALIDATION.match(line))), None)
    if found is None:
        return assign_errors(refs, stderr)
    index, match = found
    others = "\n".join(line for i, line in enumerate(lines) if i != index)
    assigned = assign_errors(refs, others)
    message = _VALIDATE_ADVICE.sub("", match.group(1))
    kind = _VALIDATION_KIND.search(message)
    rest = [r for r in refs if r not in assigned]
    culprit = next((r for r in rest if kind is None or r.kind == kind.group(1)), None)
    if culprit is None:
        return assigned
    assigned[culprit] = (Reason.VALIDATION, message)
    after = rest[rest.index(culprit) + 1 :]
    before = rest[: rest.index(culprit)]
    for ref in after:
        assigned[ref] = (
            Reason.NOT_ATTEMPTED,
            f"kubectl stopped at {culprit.display}, which its validation refused",
        )
    # Lines naming no object, when they are as many as the objects before the culprit, are theirs.
    leftovers = [e for e in map(_parse_error, _error_lines(others)) if e not in assigned.values()]
    if before and len(before) == len(leftovers):
        assigned.update(zip(before, leftovers, strict=True))
    return assigned


_QUOTED_NAME = re.compile(r'name: "([^"]+)"')


def unserved_types(stderr: str) -> frozenset[tuple[str, str]]:
    """(kind, apiVersion) of every type kubectl's errors say the server does not serve
    (``no matches for kind "Widget" in version "example.com/v1"``)."""
    return frozenset((kind, version) for kind, version in _NO_MATCH.findall(stderr))


def _named_in(
    line: str,
    by_name: Mapping[str, Mapping[ObjectRef, None]],
    by_type: Mapping[tuple[str, str], Mapping[ObjectRef, None]],
) -> ObjectRef | None:
    """The object an error line is about: by its type and name (`configmaps "web"`), by the kind a
    mapping error names, or by the name in the JSON excerpt of a decoding error."""
    for word, name in _NAMED.findall(line):
        same = list(by_name.get(name, {}))
        typed = [r for r in same if _kind_matches(word, r)]
        if typed or len(same) == 1:
            return (typed or same)[0]
    if match := _NO_MATCH.search(line):
        kind, api_version = match.groups()
        mapped = by_type.get((kind, api_version), {})
        quoted = _QUOTED_NAME.search(line)
        named = [r for r in by_name.get(quoted.group(1), {}) if r in mapped] if quoted else []
        if named:
            return named[0]
        return next(iter(mapped), None)
    if match := _JSON_NAME.search(line):
        same = list(by_name.get(match.group(1), {}))
        if len(same) == 1:
            return same[0]
    return None
