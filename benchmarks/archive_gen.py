"""A realistic, deterministic archive of N kubes, built with ``git fast-import``.

    python benchmarks/archive_gen.py N DIR [--seed 16] [--batch-from 5000]

The repository grows the way a real archive does: new formulas arrive
interleaved with version bumps of formulas already there (about one bump per
two formulas, more for popular ones), in a flat ``formulas/`` tree. Every
formula has a ``K3.yaml`` with field lengths drawn from ranges seen in real
charts (descriptions of 30 to 120 characters, 2 to 6 keywords, 2 to 8 lines of
details, 1 to 3 maintainers, a values block), a ``README.md``, and 2 or 3
manifest templates (a Deployment, a Service, sometimes a ConfigMap).
Dependencies follow a long tail: most formulas have none, some one to three,
and they point mostly at a few popular ones (databases, caches), as in Helm
repositories. The same N, seed and ``--batch-from`` always give the same files
and the same commit ids. The repository serves partial clones
(``uploadpack.allowFilter``), as a hosted archive does.

How many commits. Every commit writes a new ``formulas/`` tree object, and
that tree lists every formula there so far: whatever a commit changes, git
serialises, sorts, hashes and deltifies a tree of every formula (profiled:
``mktree``'s formatting and ``qsort``, then the delta against the previous
tree). Each commit already names only the paths it changes (``M`` lines, never
``deleteall``), so the cost is that tree: with one commit per formula and per
bump (~1.5 x N commits of trees of up to N entries) the import is quadratic.
Measured with ``git fast-import`` 2.39 on 2 CPUs: 2,000 kubes in 1.9 s, 5,000
in 9.8 s, 10,000 in 40.7 s (4.2x for 2x), 20,000 in ~14 minutes, 50,000 never
finished.

So up to ``--batch-from`` kubes (5,000) it stays one commit per new formula and
one per bump, and those archives are the same as before. Above it, formulas
arrive ``ceil(N / batch_from)`` per commit (``add 10 formulas: a 1.2.0, ...``)
and the bumps drawn while a batch arrived are one commit after it (``update a
to 1.2.3, b to 0.4.1``; a formula bumped twice shows its last version). The
history keeps thousands of commits: 4,381 at 5,001 kubes, 8,743 at
10,000, 9,691 at 20,000, 9,994 at 50,000 (7,486 at 5,000). Commits times tree
size then grows about 13x from 5,000 to 50,000 kubes instead of 100x; the wall
time grows more than that (git's cost per tree entry rises with the tree's
size), measured 20.6 s of fast-import at 10,000, 65 s at 20,000, ~6 minutes
at 50,000. An archive above 5,000 kubes therefore has fewer commits per kube
than a real one of its size: history-wide commands (``git log`` over every
commit) cost less on it than on a real archive with one commit per change.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time
from pathlib import Path

WORDS = [
    "alpha",
    "amber",
    "apex",
    "arc",
    "atlas",
    "aurora",
    "axis",
    "beacon",
    "birch",
    "blaze",
    "bolt",
    "breeze",
    "cedar",
    "cinder",
    "cipher",
    "cobalt",
    "comet",
    "coral",
    "crest",
    "delta",
    "drift",
    "ember",
    "echo",
    "falcon",
    "fern",
    "flint",
    "flux",
    "forge",
    "frost",
    "garnet",
    "glacier",
    "harbor",
    "hazel",
    "helix",
    "indigo",
    "iris",
    "jade",
    "juniper",
    "karma",
    "kestrel",
    "lantern",
    "lark",
    "lumen",
    "lynx",
    "maple",
    "marble",
    "meadow",
    "mesa",
    "nimbus",
    "nova",
    "oak",
    "onyx",
    "orbit",
    "otter",
    "pebble",
    "pine",
    "pixel",
    "prism",
    "quartz",
    "quill",
    "raven",
    "reef",
    "ridge",
    "river",
    "sable",
    "sage",
    "shale",
    "sierra",
    "slate",
    "solar",
    "sparrow",
    "spruce",
    "stone",
    "summit",
    "tango",
    "thistle",
    "tidal",
    "topaz",
    "tundra",
    "umber",
    "vale",
    "vector",
    "velvet",
    "willow",
    "wren",
    "yarrow",
    "zenith",
    "zephyr",
]
KINDS = [
    "api",
    "gateway",
    "proxy",
    "cache",
    "queue",
    "broker",
    "store",
    "db",
    "search",
    "index",
    "exporter",
    "operator",
    "agent",
    "collector",
    "dashboard",
    "worker",
    "scheduler",
    "registry",
    "vault",
    "mesh",
    "ingress",
    "backup",
    "sync",
    "bridge",
    "relay",
]
TOPICS = [
    "database",
    "web",
    "cache",
    "queue",
    "monitoring",
    "storage",
    "proxy",
    "search",
    "logging",
    "metrics",
    "tracing",
    "security",
    "backup",
    "networking",
    "ci",
    "messaging",
    "analytics",
    "streaming",
    "auth",
    "dns",
]
POPULAR = (
    "postgresql",
    "redis",
    "mysql",
    "mongodb",
    "memcached",
    "rabbitmq",
    "kafka",
    "etcd",
    "nginx",
    "minio",
)
SENTENCES = (
    "It runs as a Deployment with a Service in front of it.",
    "Data lives on a PersistentVolumeClaim that outlives an uninstall.",
    "Set replicas to scale it out; every replica is stateless.",
    "Clients connect to the Service on the documented port inside the cluster.",
    "Metrics are exposed in the Prometheus format on /metrics.",
    "TLS is off by default: terminate it at the ingress or set tls.enabled.",
    "Resources requests and limits are set for a small workload; raise them for production.",
    "The image is pinned by tag; its tag is also the app.kubernetes.io/version label.",
    "Upgrades are rolling: one Pod at a time, waiting for readiness.",
    "Configuration comes from a ConfigMap rendered from the values.",
)


def names_for(count: int, rng: random.Random) -> list[str]:
    names: list[str] = list(POPULAR[: min(count, len(POPULAR))])
    seen = set(names)
    while len(names) < count:
        parts = [rng.choice(WORDS), rng.choice(KINDS)]
        if rng.random() < 0.3:
            parts.insert(0, rng.choice(WORDS))
        name = "-".join(parts)
        if name in seen:
            name = f"{name}-{len(names)}"
        seen.add(name)
        names.append(name)
    return names


def text(rng: random.Random, low: int, high: int) -> str:
    out = ""
    target = rng.randint(low, high)
    while len(out) < target:
        out += ("" if not out else " ") + rng.choice(SENTENCES)
    return out


class Formula:
    def __init__(self, name: str, index: int, names: list[str], rng: random.Random) -> None:
        self.name = name
        topic = TOPICS[index % len(TOPICS)] if index >= len(POPULAR) else "database"
        self.topic = topic
        kind = name.rsplit("-", 1)[-1]
        self.description = f"The {name} {kind} for {topic} workloads" + (
            ", " + text(rng, 0, 60).lower().rstrip(".") if rng.random() < 0.6 else ""
        )
        self.description = self.description[:120]
        self.keywords = sorted({topic, *rng.sample(TOPICS, rng.randint(1, 5))})
        self.maintainers = [
            f"{rng.choice(WORDS).title()} {rng.choice(WORDS).title()} <{rng.choice(WORDS)}@example.com>"
            for _ in range(rng.randint(1, 3))
        ]
        self.details = [text(rng, 40, 76) for _ in range(rng.randint(2, 8))]
        self.deps: list[str] = []
        if index >= len(POPULAR):
            roll = rng.random()
            ndeps = 0 if roll < 0.6 else 1 if roll < 0.85 else 2 if roll < 0.96 else 3
            for _ in range(ndeps):
                target = rng.choice(POPULAR) if rng.random() < 0.7 else names[rng.randrange(index)]
                if target != name and target not in self.deps:
                    self.deps.append(target)
        self.manifests = 2 if rng.random() < 0.5 else 3
        self.major = rng.randint(0, 3)
        self.minor = rng.randint(0, 20)
        self.patch = 0

    @property
    def version(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"

    def k3(self) -> str:
        deps = "".join(f"  - name: {d}\n    version: '>=1.0.0, <99'\n" for d in self.deps)
        return (
            f"name: {self.name}\n"
            f'version: "{self.version}"\n'
            f"home: https://github.com/example/{self.name}\n"
            f"description: {json.dumps(self.description)}\n"
            "maintainers:\n"
            + "".join(f"  - {m}\n" for m in self.maintainers)
            + (f"dependencies:\n{deps}" if deps else "")
            + f"keywords: [{', '.join(self.keywords)}]\n"
            "details: |\n" + "".join(f"  {line}\n" for line in self.details) + "values:\n"
            "  image:\n"
            f"    repository: registry.example.com/{self.name}\n"
            f'    tag: "v{self.version}"\n'
            "  replicas: 1\n"
            "  port: 8080\n"
            "  resources:\n    requests:\n      cpu: 100m\n      memory: 128Mi\n"
        )

    def readme(self) -> str:
        return (
            f"# {self.name}\n\n{self.description}.\n\n"
            + "\n".join(self.details)
            + "\n\n```\nkube install "
            + self.name
            + "\n```\n"
        )

    def files(self) -> dict[str, str]:
        base = f"formulas/{self.name}"
        files = {
            f"{base}/K3.yaml": self.k3(),
            f"{base}/README.md": self.readme(),
            f"{base}/manifests/deployment.yaml.tmpl": DEPLOYMENT,
            f"{base}/manifests/service.yaml.tmpl": SERVICE,
        }
        if self.manifests == 3:
            files[f"{base}/manifests/configmap.yaml.tmpl"] = CONFIGMAP
        return files


DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ kube.formula }}
  labels:
    app.kubernetes.io/name: {{ kube.formula }}
    app.kubernetes.io/version: "{{ image.tag }}"
spec:
  replicas: {{ replicas }}
  selector:
    matchLabels:
      app.kubernetes.io/name: {{ kube.formula }}
  template:
    metadata:
      labels:
        app.kubernetes.io/name: {{ kube.formula }}
    spec:
      containers:
        - name: main
          image: "{{ image.repository }}:{{ image.tag }}"
          ports:
            - containerPort: {{ port }}
          resources:
            requests:
              cpu: {{ resources.requests.cpu }}
              memory: {{ resources.requests.memory }}
"""
SERVICE = """apiVersion: v1
kind: Service
metadata:
  name: {{ kube.formula }}
spec:
  selector:
    app.kubernetes.io/name: {{ kube.formula }}
  ports:
    - port: {{ port }}
      targetPort: {{ port }}
"""
CONFIGMAP = """apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ kube.formula }}-config
data:
  replicas: "{{ replicas }}"
"""


def _blob(data: str) -> bytes:
    raw = data.encode()
    return b"data %d\n" % len(raw) + raw + b"\n"


BATCH_FROM = 5000


def stream(count: int, seed: int, batch_from: int = BATCH_FROM):  # type: ignore[no-untyped-def]
    """The fast-import stream, as chunks of bytes; formulas in batches of ``ceil(count /
    batch_from)`` per commit (one per commit up to ``batch_from`` kubes)."""
    rng = random.Random(f"{seed}:{count}")
    names = names_for(count, rng)
    batch = max(1, -(-count // batch_from))
    formulas: list[Formula] = []
    when = 1_600_000_000
    mark = 0

    def commit(message: str, files: dict[str, str]) -> bytes:
        nonlocal when, mark
        when += 600
        mark += 1
        out = [
            b"commit refs/heads/main\n",
            b"mark :%d\n" % mark,
            b"author Bench <bench@example.com> %d +0000\n" % when,
            b"committer Bench <bench@example.com> %d +0000\n" % when,
            _blob(message),
        ]
        if mark > 1:
            out.append(b"from :%d\n" % (mark - 1))
        # Only the paths this commit changes: fast-import keeps the rest of the tree.
        for path, content in files.items():
            out.append(b"M 100644 inline " + path.encode() + b"\n" + _blob(content))
        out.append(b"\n")
        return b"".join(out)

    def bump() -> Formula | None:
        # About one bump per two formulas; popular ones (the first 10%) get more.
        if rng.random() >= 0.5:
            return None
        pool = formulas[: max(1, len(formulas) // 10)] if rng.random() < 0.4 else formulas
        bumped = rng.choice(pool)
        bumped.patch += 1
        return bumped

    yield commit("archive.yaml", {"README.md": "# A generated kube archive\n"})
    if batch == 1:
        for i, name in enumerate(names):
            formula = Formula(name, i, names, rng)
            formulas.append(formula)
            yield commit(f"{name} {formula.version} (new formula)", formula.files())
            bumped = bump()
            if bumped is not None:
                yield commit(
                    f"{bumped.name}: update to {bumped.version}",
                    {f"formulas/{bumped.name}/K3.yaml": bumped.k3()},
                )
        return
    for first in range(0, count, batch):
        added: list[Formula] = []
        bumps: dict[str, Formula] = {}  # name -> formula, in the order first bumped
        for i in range(first, min(first + batch, count)):
            formula = Formula(names[i], i, names, rng)
            formulas.append(formula)
            added.append(formula)
            bumped = bump()
            if bumped is not None:
                bumps.setdefault(bumped.name, bumped)
        files: dict[str, str] = {}
        for formula in added:
            files.update(formula.files())
        shown = ", ".join(f"{f.name} {f.version}" for f in added)
        yield commit(f"add {len(added)} formulas: {shown}", files)
        # A formula both added and bumped in this batch is added at its bumped version.
        bumps = {name: f for name, f in bumps.items() if f not in added}
        if bumps:
            shown = ", ".join(f"{f.name} to {f.version}" for f in bumps.values())
            yield commit(f"update {shown}", {f"formulas/{name}/K3.yaml": f.k3() for name, f in bumps.items()})


def generate(count: int, directory: Path, seed: int = 16, batch_from: int = BATCH_FROM) -> Path:
    """Build the repository (bare-less, with a work tree checked out) and return its path."""
    directory.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(directory)], check=True)
    importer = subprocess.Popen(
        ["git", "-C", str(directory), "fast-import", "--quiet", "--done"], stdin=subprocess.PIPE
    )
    assert importer.stdin is not None
    for chunk in stream(count, seed, batch_from):
        importer.stdin.write(chunk)
    importer.stdin.write(b"done\n")
    importer.stdin.close()
    if importer.wait() != 0:
        raise SystemExit("git fast-import failed")
    subprocess.run(["git", "-C", str(directory), "checkout", "-q", "-f", "main"], check=True)
    subprocess.run(["git", "-C", str(directory), "repack", "-adq"], check=True)
    # Serve partial clones, as a hosted archive does: without it git ignores --filter over
    # file:// and sends every blob (kube's first update then falls back to a full clone).
    subprocess.run(["git", "-C", str(directory), "config", "uploadpack.allowFilter", "true"], check=True)
    return directory


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("count", type=int)
    parser.add_argument("directory", type=Path)
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument(
        "--batch-from",
        type=int,
        default=BATCH_FROM,
        help="above this many kubes, several formulas per commit (see above)",
    )
    args = parser.parse_args()
    started = time.perf_counter()
    generate(args.count, args.directory, args.seed, args.batch_from)
    print(f"{args.count} kubes in {args.directory} ({time.perf_counter() - started:.1f}s)", file=sys.stderr)


if __name__ == "__main__":
    main()
