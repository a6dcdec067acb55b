"""Offline validation of objects against the Kubernetes OpenAPI schema (the ``kubernetes-validate`` package).

``kubernetes_validate.validate`` stops at the first error. To report every
unknown field and wrong type of an object in one run, each error is reported,
the offending field is removed from a private copy, and the copy is validated
again (at most ``MAX_ERRORS`` times).

Its bundled schemas cover Kubernetes 1.25 and later; ``DEFAULT_KUBE_VERSION``
is the newest bundled minor not above 1.30, close to what clusters in use
run. The schemas are strict (unknown fields are errors), as ``kubectl create``
with server-side field validation is. Older minors come from a cluster's own
OpenAPI (``kube.lint.openapi``, ``kube lint --cluster``), cached by minor; the
same repair loop (``collect``) reports every error of either, and of custom
resources against their CRD (``kube.lint.crds``). In all of them an explicit null on a
field is the field left out, as the API server reads it (the bundled schemas allow null on
most optional fields, a cluster's OpenAPI on none).
"""

from __future__ import annotations

import copy
import difflib
import functools
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kube.core.errors import KubeError, UsageError

PREFERRED_MAX_MINOR = (1, 30)
MAX_ERRORS = 10
_VERSION_RE = re.compile(r"^v?(\d+)\.(\d+)(?:\.\d+)?$")


@dataclass(frozen=True)
class SchemaProblem:
    """One schema error: ``path`` leads to the field (keys and list indexes)."""

    path: tuple[str | int, ...]
    message: str
    hint: str = ""


class NoSchema(Exception):
    """The bundled schemas hold no definition of this apiVersion/kind."""


@functools.cache
def _module() -> Any:
    try:
        import kubernetes_validate
        from kubernetes_validate import utils
    except ImportError as exc:  # a declared dependency; only a broken install lacks it
        raise KubeError(
            "the kubernetes-validate package is missing; kube lint needs it for schema checks",
            hint="pip install kubernetes-validate",
        ) from exc
    # It reads and parses its schema files (1.2 MB of definitions) on every call: ten times the
    # cost of the validation itself. They are read-only package data, so one read per file is enough.
    if callable(getattr(utils, "schema_contents", None)):
        utils.schema_contents = functools.cache(utils.schema_contents)
    return kubernetes_validate


@functools.cache
def bundled_versions() -> tuple[str, ...]:
    """The Kubernetes minors ("1.30") whose schemas the installed package bundles, oldest first."""
    from kubernetes_validate import utils

    minors = {".".join(v.split(".")[:2]) for v in utils.all_versions()}
    return tuple(sorted(minors, key=lambda m: tuple(int(p) for p in m.split("."))))


def default_kube_version() -> str:
    """The newest bundled minor not above 1.30 (else the oldest bundled)."""
    _module()
    bundled = bundled_versions()
    fitting = [m for m in bundled if tuple(int(p) for p in m.split(".")) <= PREFERRED_MAX_MINOR]
    return fitting[-1] if fitting else bundled[0]


def check_kube_version(text: str | None) -> str:
    """Normalise ``--kube-version`` to a bundled minor ("v1.29.3" -> "1.29"), or say what is bundled."""
    if text is None:
        return default_kube_version()
    _module()
    match = _VERSION_RE.match(text.strip())
    bundled = bundled_versions()
    choices = f"{bundled[0]} to {bundled[-1]}"
    if not match:
        raise UsageError(
            f'--kube-version: expected a Kubernetes version like "1.30", got "{text}"',
            hint=f"schemas are bundled for {choices}",
        )
    minor = f"{int(match.group(1))}.{int(match.group(2))}"
    if minor not in bundled:
        raise UsageError(
            f"--kube-version {text}: no schemas for Kubernetes {minor} in kubernetes-validate "
            f"(it bundles {choices})",
            hint=f"use --kube-version {default_kube_version()}, or run `kube lint --cluster` once against "
            f"a Kubernetes {minor} cluster (its schemas are then cached for --kube-version {minor})",
        )
    return minor


@dataclass(frozen=True)
class Schemas:
    """Where schemas come from: the bundled ones of a Kubernetes minor, or a cluster's own
    ``/openapi/v2`` (``kube.lint.openapi``: fetched by ``--cluster``, cached by server version)."""

    version: str  # "1.30"
    openapi: Path | None = None

    def __str__(self) -> str:
        return f"{self.version} (the cluster's OpenAPI)" if self.openapi else self.version


def choose(text: str | None, *, cluster: Path | None = None, cluster_version: str = "") -> Schemas:
    """The schemas for ``--kube-version`` (``text``) or, with ``cluster``, a cluster's OpenAPI.

    A minor that is not bundled is served from a cluster's cached OpenAPI when one of that
    minor was fetched before (``kube lint --cluster``)."""
    if cluster is not None:
        if text is not None and _minor(text) != cluster_version:
            raise UsageError(
                f"--kube-version {text} and --cluster disagree: the cluster runs {cluster_version}",
                hint="leave out --kube-version with --cluster",
            )
        return Schemas(cluster_version, cluster)
    if text is not None and _VERSION_RE.match(text.strip()):
        from kube.lint import openapi

        minor = _minor(text)
        cached = openapi.cached(minor)
        if cached is not None and minor not in bundled_versions():
            return Schemas(minor, cached)
    return Schemas(check_kube_version(text))


def _minor(text: str) -> str:
    match = _VERSION_RE.match(text.strip())
    return f"{int(match.group(1))}.{int(match.group(2))}" if match else text


def served_api_versions(kind: str, schemas: Schemas | str) -> list[str]:
    """The apiVersions in which ``schemas`` define the built-in ``kind``: what to write instead
    of one they do not serve (a cluster's OpenAPI, or the bundled files of that minor)."""
    if isinstance(schemas, str):
        schemas = Schemas(schemas)
    if schemas.openapi is not None:
        from kube.lint import openapi

        return openapi.api_versions_of(schemas.openapi, kind)
    from importlib import resources

    from kube.k8s.objects import BUILTIN_GROUPS

    by_prefix = {group.split(".")[0]: group for group in BUILTIN_GROUPS}
    try:
        folder = resources.files("kubernetes_validate") / "kubernetes-json-schema"
        names = [entry.name for entry in (folder / _schema_dir(schemas.version + ".0")).iterdir()]
    except (OSError, ImportError, KubeError, ValueError, LookupError):
        return []
    # Files are named kind-groupprefix-version.json ("cronjob-batch-v1.json", "pod-v1.json").
    pattern = re.compile(rf"^{re.escape(kind.lower())}-(?:([a-z0-9]+)-)?(v\d+(?:(?:alpha|beta)\d+)?)\.json$")
    served = []
    for name in names:
        match = pattern.match(name)
        if match is None:
            continue
        prefix, version = match.groups()
        if prefix is None:
            served.append(version)
        elif prefix in by_prefix:
            served.append(f"{by_prefix[prefix]}/{version}")
    return sorted(served)


def validate(obj: dict[str, Any], schemas: Schemas | str) -> list[SchemaProblem]:
    """Every schema problem of ``obj`` (up to ``MAX_ERRORS``); raises ``NoSchema``."""
    if isinstance(schemas, str):
        schemas = Schemas(schemas)
    if schemas.openapi is not None:
        from kube.lint import openapi

        served = openapi.validator(schemas.openapi, obj)
        if served is None:
            raise NoSchema(f"the cluster serves no {obj.get('kind')} in {obj.get('apiVersion')}")
        return collect(obj, served)
    kv = _module()
    version = schemas.version + ".0"
    if not all(callable(getattr(kv.utils, name, None)) for name in _UTILS):
        return collect(obj, functools.partial(_check_by_package, kv, version))
    return collect(obj, functools.partial(_check, kv, version))


# What ``_check`` uses of ``kubernetes_validate.utils``; without any of them, its ``validate``.
_UTILS = ("all_versions", "major_minor", "schema_contents")


def _check_by_package(kv: Any, version: str, work: dict[str, Any]) -> None:
    try:
        kv.validate(work, version, strict=True)
    except kv.SchemaNotFoundError as exc:
        raise NoSchema(exc.message) from None


_API_PREFIX = re.compile(r"^([^./]*)(?:\.[^/]*)?/")


def _check(kv: Any, desired: str, work: dict[str, Any]) -> None:
    """``kubernetes_validate.validate(work, desired, strict=True)`` with the validator of each
    schema file built once (see ``_validator``): the same file, the same first error, the same
    exceptions for an unknown version or kind (NoSchema for the latter)."""
    schema_dir = _schema_dir(desired)
    api_version = _API_PREFIX.sub(r"\1-", work["apiVersion"])
    try:
        filename = f"kubernetes-json-schema/{schema_dir}/{work['kind'].lower()}-{api_version}.json"
        validator = _validator(filename, schema_dir, desired)
    except FileNotFoundError:
        missing = kv.SchemaNotFoundError(
            version=kv.utils.major_minor(desired), kind=work["kind"], api_version=work["apiVersion"]
        )
        raise NoSchema(missing.message) from None
    for error in validator.iter_errors(work):
        raise error


@functools.cache
def _schema_dir(desired: str) -> str:
    """The strict schema directory ``kubernetes_validate.validate`` picks for ``desired``
    ("1.30.0"), as it picks it; its version list is package data, read once (an exception,
    an unsupported version, is raised again on every call: ``cache`` keeps only results)."""
    from kubernetes_validate import utils

    versions = utils.all_versions()
    if utils.major_minor(desired) > versions[-1]:
        raise utils.VersionNotSupportedError(version=utils.major_minor(desired))
    version = [v for v in versions if utils.major_minor(v) <= utils.major_minor(desired)][-1]
    return f"v{version}-local-strict"


@functools.cache
def _validator(filename: str, schema_dir: str, desired: str) -> Any:
    """The Draft 2020-12 validator of one bundled schema file, with its registry of that file
    and the directory's ``_definitions.json``, built as ``kubernetes_validate.validate`` builds
    it on every call. Sharing it is safe: the schemas are read-only package data (already read
    once, ``_module``), a validator keeps no state between instances, and a registry is
    immutable; keyed by the file, which names the Kubernetes version and the kind."""
    import jsonschema
    from kubernetes_validate import utils
    from referencing import Registry, Resource

    schema = utils.schema_contents(filename, desired)
    definitions = utils.schema_contents(f"kubernetes-json-schema/{schema_dir}/_definitions.json", desired)
    registry = Resource.from_contents(definitions) @ (Resource.from_contents(schema) @ Registry())
    return jsonschema.validators.Draft202012Validator(schema, registry=registry)


def collect(
    obj: dict[str, Any], check: Callable[[dict[str, Any]], None], *, unknown: str = ""
) -> list[SchemaProblem]:
    """Every problem ``check`` (which raises a ``jsonschema.ValidationError``) finds in ``obj``.

    ``check`` stops at the first error: each one is reported, a private copy repaired, and
    the copy checked again (``check`` must not change what it is given). ``unknown`` is added
    to the message of an unknown field."""
    import jsonschema

    work = obj  # checks only read it: copied at the first repair (most objects have no error)
    problems: list[SchemaProblem] = []
    seen: set[tuple[tuple[str | int, ...], str]] = set()
    while len(problems) < MAX_ERRORS:
        try:
            check(work)
            return problems
        except jsonschema.ValidationError as exc:
            path = tuple(exc.path)
            if _null_field(exc, path):
                # The API server reads an explicit null on a field as the field left out (a
                # required one is then reported missing on the next run); the bundled schemas
                # allow it on most optional fields, a cluster's OpenAPI on none.
                if work is obj:
                    work = copy.deepcopy(obj)
                if _drop(work, path):
                    continue
            if (path, str(exc.validator)) in seen:
                return problems  # the repair did not take; stop rather than loop
            seen.add((path, str(exc.validator)))
            problems.extend(_describe(exc, path, unknown))
            if work is obj:
                work = copy.deepcopy(obj)
            if not _repair(work, exc, path):
                return problems
    return problems


#: Schema keywords whose next step is a name or an index, not a keyword.
_NAMED = frozenset(
    {"properties", "patternProperties", "dependencies", "dependentSchemas", "$defs", "definitions"}
)
_INDEXED = frozenset({"allOf", "anyOf", "oneOf", "prefixItems"})
#: Keywords that step into a member of a map or a list, not into a named field.
_MEMBER = frozenset({"additionalProperties", "patternProperties", "items", "additionalItems", "prefixItems"})


def _null_field(exc: Any, path: tuple[str | int, ...]) -> bool:
    """Whether ``exc`` is about a null written on a named field (``data: null``), not on a
    member of a map (``data: {a: null}``) or a list (``args: [null]``): kubectl's own
    validation refuses those, and the API server reads them as the empty value, not as absent."""
    if exc.instance is not None or not path or not isinstance(path[-1], str):
        return False
    steps, last, at = list(exc.absolute_schema_path), "", 0
    while at < len(steps):
        step = steps[at]
        if step in _MEMBER or step == "properties":
            last = str(step)
        at += 2 if step in _NAMED or step in _INDEXED else 1
    return last == "properties"


def _drop(work: dict[str, Any], path: tuple[str | int, ...]) -> bool:
    """Take the null at ``path`` out of the private copy; False when it is not there."""
    parent: Any = work
    try:
        for step in path[:-1]:
            parent = parent[step]
    except (KeyError, IndexError, TypeError):
        return False
    if not isinstance(parent, dict) or path[-1] not in parent or parent[path[-1]] is not None:
        return False
    del parent[path[-1]]
    return True


def _repair(work: dict[str, Any], exc: Any, path: tuple[str | int, ...]) -> bool:
    """Make the private copy pass the failed check, so the next run finds the next error."""
    parent: Any = work
    try:
        for step in path[:-1]:
            parent = parent[step]
        target = parent[path[-1]] if path else work
    except (KeyError, IndexError, TypeError):
        return False
    if exc.validator == "additionalProperties" and isinstance(target, dict):
        known = exc.schema.get("properties") or {}
        for key in [k for k in target if k not in known]:
            del target[key]
        return True
    if exc.validator == "required" and isinstance(target, dict):
        properties = exc.schema.get("properties") or {}
        for key in _missing(exc):
            filler = _placeholder(properties.get(key) or {})
            if filler is None:
                return False
            target[key] = filler
        return True
    if not path:
        return False
    if exc.validator == "enum" and exc.validator_value:
        parent[path[-1]] = next(iter(exc.validator_value))
        return True
    filler = _placeholder({"type": exc.validator_value}) if exc.validator == "type" else None
    if filler is not None:
        parent[path[-1]] = filler
    else:
        del parent[path[-1]]
    return True


def _placeholder(schema: dict[str, Any]) -> Any:
    """A value of the schema's type (None when it cannot be told)."""
    if "$ref" in schema or "properties" in schema:
        return {}
    kinds = [t for t in _as_list(schema.get("type")) if t != "null"]
    fillers: dict[str, Any] = {
        "string": "",
        "integer": 0,
        "number": 0,
        "boolean": False,
        "object": {},
        "array": [],
    }
    return fillers.get(kinds[0]) if kinds else None


def _missing(exc: Any) -> list[str]:
    instance = exc.instance if isinstance(exc.instance, dict) else {}
    return [key for key in exc.validator_value or () if key not in instance]


def _describe(exc: Any, path: tuple[str | int, ...], unknown: str = "") -> Iterator[SchemaProblem]:
    if exc.validator == "additionalProperties" and isinstance(exc.instance, dict):
        known = list((exc.schema.get("properties") or {}).keys())
        for key in exc.instance:
            if key in known:
                continue
            close = difflib.get_close_matches(str(key), known, n=1)
            hint = f"did you mean `{close[0]}`?" if close else _explain_hint(path)
            yield SchemaProblem((*path, key), f"unknown field `{dotted((*path, key))}`{unknown}", hint)
        return
    if exc.validator == "required":
        for key in _missing(exc):
            yield SchemaProblem(path, f"`{dotted((*path, key))}` is required", _explain_hint(path))
        return
    if exc.validator == "type":
        wanted = [t for t in _as_list(exc.validator_value) if t != "null"]
        got = _json_type(exc.instance)
        field = str(path[-1]) if path else "value"
        if got == "string" and {"integer", "number"} & set(wanted):
            hint = f"leave numbers unquoted: {field}: {exc.instance}"
        elif wanted == ["boolean"] and got == "string":
            hint = f"write {field}: true or {field}: false, unquoted"
        elif "string" in wanted and got in ("integer", "number", "boolean"):
            hint = f'quote it: {field}: "{_scalar(exc.instance)}"'
        else:
            hint = _explain_hint(path)
        yield SchemaProblem(
            path,
            f"`{dotted(path)}` must be {' or '.join(_article(t) for t in wanted)}, "
            f"not {_article(got)} ({_short(exc.instance)})",
            hint,
        )
        return
    if exc.validator == "enum":
        options = ", ".join(str(v) for v in _as_list(exc.validator_value))
        yield SchemaProblem(path, f"`{dotted(path)}` must be one of: {options}", "")
        return
    yield SchemaProblem(
        path, f"`{dotted(path) or '(object)'}`: {_short(exc.message, 160)}", _explain_hint(path)
    )


def dotted(path: Sequence[str | int]) -> str:
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else str(step))
    return text


def _explain_hint(path: Sequence[str | int]) -> str:
    fields = ".".join(str(p) for p in path if not isinstance(p, int))
    return f"`kubectl explain KIND{'.' + fields if fields else ''}` lists the fields"


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


def _article(json_type: str) -> str:
    return f"an {json_type}" if json_type[:1] in "aeiou" else f"a {json_type}"


def _scalar(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _short(value: Any, limit: int = 40) -> str:
    text = repr(value) if not isinstance(value, str) else f'"{value}"'
    return text if len(text) <= limit else text[: limit - 3] + "..."
