"""The ``local`` provisioner: a real Kubernetes control plane on this machine, one per name.

It drives the engine that ships inside this package (``engine/dev-cluster``, the
same program ``scripts/dev-cluster`` runs from a checkout; see scripts/README.md):
``create`` starts a cluster named like the kube cluster (the first one builds
Kubernetes into ``~/.cache/kube-dev-cluster``), ``delete`` stops it and removes
its state. Option ``port=N`` fixes the API server port.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path

from kube.core import process
from kube.core.errors import ClusterError, UsageError

ENGINE = Path(__file__).resolve().parent / "engine" / "dev-cluster"


def engine(*args: str, timeout: float, ok: tuple[int, ...] = (0,)) -> process.Completed:
    done = process.run([sys.executable, str(ENGINE), *args], timeout=timeout, check=False, keep=1 << 20)
    if done.returncode not in ok:
        raise ClusterError(f"local engine: {process.last_line(done.stderr or done.stdout)}")
    return done


class LocalProvisioner:
    def create(self, name: str, options: Mapping[str, str], timeout: float) -> str:
        unknown = set(options) - {"port"}
        if unknown:
            raise UsageError(f"unknown option {sorted(unknown)[0]!r} (port)")
        args = ["start", f"--name={name}", "--json"]
        if "port" in options:
            args.append(f"--port={options['port']}")
        done = engine(*args, timeout=timeout)
        state = json.loads(done.stdout.strip().splitlines()[-1])
        return str(state["kubeconfig"])

    def delete(self, name: str) -> None:
        engine("stop", f"--name={name}", timeout=60)

    def status(self, name: str) -> str:
        # status exits 1 for a cluster that is not healthy, 3 for one that is not running.
        done = engine("status", f"--name={name}", "--json", timeout=30, ok=(0, 1, 3))
        state = json.loads(done.stdout)  # one document, indented when the cluster runs
        if not state.get("running"):
            return "not running"
        return "running, healthy" if state.get("healthy") else "running, not healthy"
