"""The rules of ``kube lint``: one id, severity and summary each (also the table in CONTRIBUTING.md).

K3.yaml rules come from ``kube.formula.check_formula`` and keep its ids; the
rules below are the ones ``kube lint`` adds on top.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from kube.core.findings import Finding, Severity

E = Severity.ERROR
W = Severity.WARNING


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    summary: str
    hint: str


_RULES: tuple[Rule, ...] = (
    # hygiene
    Rule(
        "file-too-large",
        E,
        "a file over 4 MiB, or a formula over 32 MiB",
        "keep formulas small; fetch data at runtime",
    ),
    Rule(
        "file-unexpected",
        W,
        "a top-level entry outside the formula layout",
        "a formula holds K3.yaml, README.md, manifests/, scripts/ and tests/",
    ),
    Rule("readme-missing", W, "no README.md", "add README.md: what it deploys, its values, an example"),
    # manifests
    Rule("manifest-none", E, "no manifests at all", "add Kubernetes manifests under manifests/"),
    Rule(
        "patch",
        E,
        "a patch file is malformed, or a patch matches no object, fails a test or breaks the object",
        "fix the patch file: its target, its operations' paths, or its test values",
    ),
    Rule(
        "manifest-file-type",
        E,
        "a file in manifests/ of a type kube does not read",
        "use .yaml, .yml, .json, .yaml.tmpl or .json.tmpl",
    ),
    Rule("manifest-parse", E, "a YAML/JSON document does not parse", "fix the syntax at that line"),
    Rule("manifest-empty", W, "a manifest file with no documents", "remove the file or add the objects"),
    Rule(
        "manifest-count",
        E,
        "a formula renders more than 5,000 objects (install refuses it)",
        "check the templates' loops and the defaults that drive them; split the formula",
    ),
    Rule("manifest-not-object", E, "a document is not a mapping", "each document is one Kubernetes object"),
    Rule(
        "manifest-api-version", E, "apiVersion missing or malformed", 'set apiVersion, e.g. "apps/v1" or "v1"'
    ),
    Rule("manifest-kind", E, "kind missing or malformed", "set kind, e.g. Deployment"),
    Rule("manifest-name", E, "metadata.name missing", "give every object a fixed metadata.name"),
    Rule(
        "manifest-name-format",
        E,
        "metadata.name is not a name Kubernetes accepts for this kind",
        "lower case letters, digits and '-' (and '.' where allowed)",
    ),
    Rule("manifest-duplicate", E, "two objects with the same kind and name", "rename one of them"),
    Rule(
        "shard-duplicate",
        E,
        "two shards render an object of the same kind and name",
        "name each shard's objects after shard.name",
    ),
    Rule(
        "shards-empty",
        W,
        "K3.yaml declares shards: but manifests/shards/ holds no manifest",
        "put the per-member objects in manifests/shards/, or drop shards:",
    ),
    Rule(
        "manifest-namespace",
        W,
        "metadata.namespace is hard-coded (install refuses it without --allow-namespace)",
        "leave it out: kube installs into the namespace given with -n",
    ),
    # what a formula may reach beyond its namespace (Kubernetes Pod Security Standards, RBAC)
    Rule(
        "manifest-reserved",
        E,
        "an object that is, or looks like, kube's own install record (type, name, labels)",
        "remove it: records and the kube.sh/ labels are written by kube alone",
    ),
    Rule(
        "manifest-rbac-admin",
        W,
        "a binding to cluster-admin, or a ClusterRoleBinding to admin or edit",
        "bind a Role that lists only the verbs and resources the workload needs",
    ),
    Rule(
        "manifest-rbac-wildcard",
        W,
        "a Role or ClusterRole rule with `*` in verbs, resources or apiGroups",
        "list the verbs, resources and API groups by name",
    ),
    Rule(
        "manifest-rbac-subject-namespace",
        W,
        "a RoleBinding or ClusterRoleBinding subject (ServiceAccount) in a hard-coded namespace",
        "write `namespace: {{ kube.namespace }}` in a .yaml.tmpl template",
    ),
    Rule(
        "manifest-image-tag",
        W,
        "a container image with no tag, or the tag `latest`",
        "pin a version tag (nginx:1.27.3) or a digest (nginx@sha256:...), and upgrade it on purpose",
    ),
    Rule(
        "manifest-hostpath",
        W,
        "a Pod mounts a hostPath volume (the node's own files), or a PersistentVolume is one",
        "use an emptyDir, a ConfigMap or a PersistentVolumeClaim",
    ),
    Rule(
        "manifest-host-namespace",
        W,
        "a Pod shares the node's network, PID or IPC namespace (hostNetwork/hostPID/hostIPC)",
        "remove it: Pods reach each other and the outside through Services",
    ),
    Rule(
        "manifest-privileged",
        W,
        "a privileged container (root on the node)",
        "remove `privileged: true`; add only the capabilities it needs",
    ),
    Rule(
        "manifest-privilege-escalation",
        W,
        "a container with allowPrivilegeEscalation: true",
        "set allowPrivilegeEscalation: false (or leave it out)",
    ),
    Rule(
        "manifest-capabilities",
        W,
        "a container adds Linux capabilities beyond the Pod Security Standards' baseline",
        "drop the capability; baseline allows CHOWN, KILL, NET_BIND_SERVICE, SETUID, SETGID and a few more",
    ),
    Rule(
        "manifest-schema",
        E,
        "an object invalid against the Kubernetes OpenAPI schema (a custom resource: its CRD's)",
        "`kubectl explain KIND.FIELD` lists the fields",
    ),
    Rule(
        "manifest-unknown-api",
        E,
        "a built-in kind/apiVersion that the target Kubernetes does not serve",
        "use an apiVersion the target Kubernetes serves: the finding names them",
    ),
    Rule(
        "manifest-custom-resource",
        W,
        "a custom resource whose CRD is neither in the formula nor in a dependency (not validated)",
        "ship the CRD in the formula, or depend on the kube that does",
    ),
    # templates
    Rule(
        "template-render",
        E,
        "a template does not render with the default values",
        "give every value a default under `values:` in K3.yaml",
    ),
    Rule(
        "template-include",
        W,
        "a template includes or imports another template",
        "keep each template self-contained",
    ),
    # tests/
    Rule("test-file-type", E, "a file in tests/ that is not YAML or JSON", "tests/ holds .yaml/.yml/.json"),
    Rule("test-kind", E, "a tests/ object that is not a Pod or a Job", "tests/ holds Pods and Jobs only"),
    Rule(
        "test-restart-policy",
        E,
        "a test Pod that restarts forever and so never succeeds",
        "set restartPolicy: Never",
    ),
    Rule(
        "test-selector",
        E,
        "a test Pod matches the selector of a Service of the formula (numbered target port)",
        "give test Pods labels the formula's Services do not select",
    ),
    # scripts
    Rule(
        "script-unexpected",
        E,
        "a file in scripts/ other than pre-install.py",
        "scripts/ holds only pre-install.py",
    ),
    Rule("script-compile", E, "scripts/pre-install.py does not compile", "fix the Python syntax"),
    Rule(
        "hook-requirement",
        E,
        "`hook.python` is not a PEP 440 version specifier, or an entry of `hook.requires` not a requirement",
        'e.g. hook: {python: ">=3.9", requires: ["cryptography>=41"]}',
    ),
    Rule(
        "hook-without-script",
        W,
        "`hook:` in K3.yaml, but no scripts/pre-install.py",
        "add the hook, or remove `hook:`",
    ),
    # across the archive
    Rule(
        "dependency-missing",
        E,
        "a dependency names a kube that is not in the archive",
        "check the name with `kube search`",
    ),
    Rule("dependency-cycle", E, "dependencies form a cycle", "remove one dependency of the cycle"),
    Rule(
        "dependency-version",
        W,
        "the archive's version of a dependency is outside the range",
        "widen the range, or update the dependency",
    ),
    Rule(
        "version-bump",
        E,
        "a changed formula kept its version (--changed)",
        "raise `version` in K3.yaml (SemVer)",
    ),
    Rule(
        "lint-ignore-unused",
        W,
        "a `lint.ignore` entry of K3.yaml that matches no finding",
        "remove the entry, or fix its rule or file",
    ),
    Rule(
        "depends-on",
        E,
        "a config.kubernetes.io/depends-on annotation that does not parse (kpt's reference syntax)",
        "write <group>/namespaces/<ns>/<kind>/<name> or <group>/<kind>/<name>, e.g. apps/StatefulSet/db",
    ),
    Rule(
        "depends-on-missing",
        E,
        "a depends-on reference names no object of the formula",
        "name an object the formula creates; kube waits only for its own objects",
    ),
    Rule(
        "depends-on-outside",
        E,
        "a depends-on reference names an object of the formula in another namespace or scope",
        "drop the namespace part, or give the namespace the object is in",
    ),
    Rule("depends-on-cycle", E, "depends-on annotations form a cycle", "remove one of them"),
)

# Rules of K3.yaml and of the file tree, found by ``kube.formula.check_formula`` (and the strict
# YAML reader behind it): listed for the documentation, and given a fix hint when they have none.
LOADER_RULES: tuple[Rule, ...] = (
    Rule("file-missing", E, "K3.yaml (or another file read) is missing", "add K3.yaml"),
    Rule("file-size", E, "a file kube reads is over its size cap", "keep the file small"),
    Rule("file-encoding", E, "a file is not UTF-8 text", "save it as UTF-8"),
    Rule("yaml-syntax", E, "K3.yaml is not valid YAML", "fix the YAML at that line"),
    Rule("yaml-duplicate-key", E, "a key appears twice in one mapping", "keep one of them"),
    Rule("yaml-tag", E, "a custom YAML tag", "use plain YAML values"),
    Rule("yaml-version", E, "a %YAML directive other than 1.2", "remove the %YAML line"),
    Rule("yaml-alias", E, "an alias that refers to itself or expands too far", "write the values out"),
    Rule("yaml-depth", E, "YAML nested too deep", "flatten the structure"),
    Rule("yaml-key", E, "a mapping key that is not a plain value", "use plain strings as keys"),
    Rule("yaml-number", E, "a number too long to be read", "quote it as a string"),
    Rule("file-type", E, "a file kube reads is a symlink or not a regular file", "replace it with a file"),
    Rule("file-unreadable", E, "a file kube reads cannot be read", "check its permissions"),
    Rule("k3-empty", E, "K3.yaml is empty", "fill in name, version, home, description, maintainers"),
    Rule("k3-required", E, "a required field is missing or empty", "add it"),
    Rule("k3-type", E, "a field has the wrong type", 'quote versions and text: version: "1.10.0"'),
    Rule("k3-single-line", E, "description spans several lines", "put longer text under `details`"),
    Rule("k3-name", E, "name is not a DNS-1123 label, or not the directory's name", "name: <directory name>"),
    Rule("k3-version", E, "version is not SemVer 2.0.0", 'e.g. version: "1.2.3" (no leading v)'),
    Rule("k3-home", E, "home is not a URL or a contact", "e.g. home: https://example.com/project"),
    Rule("k3-maintainer", E, 'a maintainer is not "Name <email-or-url>"', "e.g. Jane Doe <jane@example.com>"),
    Rule(
        "k3-range", E, "a dependency's version range does not parse", 'e.g. "1.9 < x <= 1.10" or ">=1.9, <2"'
    ),
    Rule("k3-range-empty", E, "a dependency's range can match no version", "fix the bounds of the range"),
    Rule("k3-dependency", E, "a dependency on itself, or listed twice", "remove it"),
    Rule("k3-reserved", E, "a value named `kube` (reserved for templates)", "rename the value"),
    Rule(
        "k3-shards",
        E,
        "shards: is not a count from 1 to 1000 or a list of per-shard mappings with valid, distinct names",
        "e.g. shards: 3, or shards: [{name: a, zone: x}, {name: b, zone: y}]",
    ),
    Rule("k3-unknown-key", W, "an unknown key", "check the spelling"),
    Rule(
        "k3-patch",
        E,
        "a patch file path outside the formula, or listed twice",
        "use a path like patches/x.yaml",
    ),
    Rule("k3-control-chars", W, "text holds control characters", "remove them"),
    Rule(
        "k3-lint",
        E,
        "a `lint.ignore` entry names an unknown rule, an error, or a file outside the formula",
        "ignore warnings only, by their rule id and a path like manifests/x.yaml",
    ),
    Rule("formula-name", E, "the directory name is not a valid formula name", "rename the directory"),
    Rule(
        "formula-path", E, "the formula is not a plain directory, or a file name is not allowed", "rename it"
    ),
    Rule("formula-symlink", E, "a symlink inside the formula", "replace the link with a copy of the file"),
    Rule("formula-special-file", E, "a FIFO, socket or device file", "remove it"),
    Rule("formula-size", E, "a formula with more than 10,000 files", "keep formulas small"),
)

# Found when ``kube install`` (and ``kube update``) read a formula; ``kube lint`` reports the
# template ones as ``template-render``. Listed so that every id kube prints is documented.
INSTALL_RULES: tuple[Rule, ...] = (
    Rule("template-syntax", E, "a template is not valid Jinja2", "fix the template syntax at that line"),
    Rule(
        "template-undefined",
        E,
        "a template reads a value that has no default",
        "give the value a default under `values:` in K3.yaml",
    ),
    Rule(
        "template-sandbox",
        E,
        "a template does something the sandbox forbids",
        "templates format values; compute nothing else in them",
    ),
    Rule("template-error", E, "a template fails while rendering", "fix the expression at that line"),
    Rule(
        "template-output",
        E,
        "a template's output is too large, or not text kube reads",
        "render fewer objects; keep data out of templates",
    ),
    Rule(
        "template-limit",
        E,
        "a template went past its step, time, size or nesting budget",
        "loop over less; build smaller strings and lists",
    ),
    Rule("manifest-json", E, "a .json manifest is not valid JSON", "fix the JSON at that line"),
    Rule("manifest-file", E, "a manifest file is a symlink or lies outside the formula", "use a file"),
    Rule("manifest-object", E, "a document is not a Kubernetes object", "each document is one object"),
    Rule(
        "patch-file", E, "a patch file is reached through a symlink or lies outside the formula", "use a file"
    ),
    Rule("invalid-formula", W, "a formula of the archive does not load", "run `kube lint` on it"),
    Rule(
        "skipped-formula",
        W,
        "an entry of formulas/ that is not a formula (a symlink, a bad name)",
        "remove it",
    ),
)

#: The formula format reference; each hint ends with the section of it that explains the rule.
FORMAT_DOC = "docs/format.md"
_SEE = {
    "file-missing": "k3-yaml",
    "k3-empty": "k3-yaml",
    "k3-required": "k3-keys",
    "k3-type": "k3-keys",
    "k3-unknown-key": "k3-keys",
    "k3-control-chars": "k3-keys",
    "k3-name": "key-name",
    "k3-home": "key-home",
    "k3-single-line": "key-description",
    "k3-maintainer": "key-maintainers",
    "k3-dependency": "key-dependencies",
    "k3-reserved": "key-values",
    "k3-shards": "key-shards",
    "shard-duplicate": "shards",
    "shards-empty": "shards",
    "k3-lint": "key-lint",
    "k3-patch": "key-patches",
    "patch": "patches",
    "patch-file": "patches",
    "lint-ignore-unused": "key-lint",
    "k3-version": "versions",
    "version-bump": "versions",
    "k3-range": "ranges",
    "k3-range-empty": "ranges",
    "dependency-missing": "key-dependencies",
    "dependency-cycle": "key-dependencies",
    "dependency-version": "ranges",
    "file-encoding": "yaml",
    "file-too-large": "limits",
    "file-size": "limits",
    "formula-size": "limits",
    "file-unexpected": "layout",
    "file-type": "layout",
    "formula-name": "layout",
    "formula-path": "layout",
    "formula-symlink": "layout",
    "formula-special-file": "layout",
}
_SEE_PREFIX = {
    "yaml-": "yaml",
    "manifest-": "manifests",
    "template-": "templates",
    "script-": "hook",
    "hook-": "hook",
    "test-": "tests",
}


def doc_anchor(rule_id: str) -> str | None:
    """The section of ``FORMAT_DOC`` (``#anchor``) that explains the rule, if one does."""
    if rule_id in _SEE:
        return _SEE[rule_id]
    return next((anchor for prefix, anchor in _SEE_PREFIX.items() if rule_id.startswith(prefix)), None)


def _documented(rules: tuple[Rule, ...]) -> tuple[Rule, ...]:
    return tuple(
        replace(rule, hint=f"{rule.hint}; see {FORMAT_DOC}#{anchor}")
        if (anchor := doc_anchor(rule.id))
        else rule
        for rule in rules
    )


_RULES, LOADER_RULES, INSTALL_RULES = (
    _documented(_RULES),
    _documented(LOADER_RULES),
    _documented(INSTALL_RULES),
)
RULES: dict[str, Rule] = {rule.id: rule for rule in _RULES}
_LOADER_HINTS = {rule.id: rule.hint for rule in (*LOADER_RULES, *INSTALL_RULES)}
ALL_RULES: dict[str, Rule] = {rule.id: rule for rule in (*_RULES, *LOADER_RULES, *INSTALL_RULES)}


def ignorable(rule_id: str) -> bool:
    """Whether ``lint.ignore`` in K3.yaml may name the rule: warnings only (an error is something
    install refuses or Kubernetes rejects, so ignoring it would only hide the failure)."""
    rule = ALL_RULES.get(rule_id)
    return rule is not None and rule.severity is W and rule_id != "lint-ignore-unused"


def with_hint(found: Finding) -> Finding:
    """``found`` with the default hint of its rule when it has none."""
    if found.hint:
        return found
    hint = _LOADER_HINTS.get(found.rule) or (RULES[found.rule].hint if found.rule in RULES else "")
    return Finding(found.path, found.line, found.rule, found.message, found.severity, hint)


def finding(rule_id: str, path: str, line: int, message: str, *, hint: str | None = None) -> Finding:
    """A finding of one of the rules above, with the rule's severity and default hint."""
    rule = RULES[rule_id]
    return Finding(path, line, rule.id, message, rule.severity, rule.hint if hint is None else hint)
