#!/usr/bin/env python3
"""A simulated Kubernetes node: what a kubelet and container runtime would report, without running anything.

- registers a Ready node with realistic capacity and removes the `node.kubernetes.io/not-ready` taint;
- marks Pods bound to the node Running and Ready (a pod IP, running container statuses); Pods of Jobs and
  `restartPolicy: Never` Pods become Succeeded with terminated container states
  (Failed, when annotated `simnode.kube.sh/exit-code` with a non-zero code);
- finishes graceful deletion of its Pods (deletes them with gracePeriodSeconds=0, as a kubelet does once
  the containers are stopped), so Deployments scale down and namespaces can be deleted;
- provisions volumes: a default StorageClass `standard`, and for every Pending PersistentVolumeClaim a
  matching hostPath PersistentVolume bound to it; Released volumes it made are deleted;
- gives Services of type LoadBalancer an ingress address.

Standard library only. Watches the API server (list, then watch with reconnect and periodic resync).
"""

from __future__ import annotations

import argparse
import http.client
import ipaddress
import json
import random
import shutil
import signal
import ssl
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

PROVISIONER = "dev-cluster.kube.sh/hostpath"
#: A Pod annotated with a non-zero exit code completes as Failed instead of Succeeded.
EXIT_CODE_ANNOTATION = "simnode.kube.sh/exit-code"
MANAGED_LABEL = "dev-cluster.kube.sh/provisioned"
#: Marks the node as one that runs no containers: `kube test` reports tests on it as not run,
#: since a Pod "succeeding" here says nothing about the image or the command.
SIMULATED_LABEL = "kube.sh/simulated-node"
STORAGE_CLASS = "standard"
NODE_IP = "127.0.0.1"
KUBELET_PORT = 1  # nothing listens there: `kubectl logs/exec` fail fast instead of hanging
CAPACITY = {"cpu": "32", "memory": "64Gi", "pods": "110", "ephemeral-storage": "100Gi", "hugepages-2Mi": "0"}
WATCH_SECONDS = 60

Obj = dict[str, Any]


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", flush=True)


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class ApiError(Exception):
    pass


class Api:
    """A tiny Kubernetes API client over HTTPS with a bearer token (one connection per thread)."""

    def __init__(self, server: str, token: str, ca_file: str | None) -> None:
        url = urllib.parse.urlsplit(server)
        self.host = url.hostname or "127.0.0.1"
        self.port = url.port or 443
        self.token = token
        self.ca_file = ca_file
        self._local = threading.local()

    def _context(self) -> ssl.SSLContext:
        if self.ca_file and Path(self.ca_file).exists():
            return ssl.create_default_context(cafile=self.ca_file)
        return ssl._create_unverified_context()

    def _connect(self, timeout: float) -> http.client.HTTPSConnection:
        return http.client.HTTPSConnection(self.host, self.port, timeout=timeout, context=self._context())

    def _headers(self, content_type: str | None = None) -> dict[str, str]:
        headers = {
            "Authorization": f"Bearer {self.token}",
            "Accept": "application/json",
            "User-Agent": "simnode/1.0",
        }
        if content_type:
            headers["Content-Type"] = content_type
        return headers

    def request(
        self, method: str, path: str, body: Any = None, content_type: str = "application/json"
    ) -> tuple[int, Obj]:
        data = None if body is None else json.dumps(body).encode()
        for attempt in range(2):
            conn = getattr(self._local, "conn", None)
            if conn is None:
                conn = self._local.conn = self._connect(30)
            try:
                conn.request(method, path, body=data, headers=self._headers(content_type if data else None))
                resp = conn.getresponse()
                raw = resp.read()
            except (OSError, http.client.HTTPException):
                conn.close()
                self._local.conn = None
                if attempt:
                    raise
                continue
            try:
                parsed = json.loads(raw) if raw else {}
            except ValueError:
                parsed = {"message": raw.decode(errors="replace")}
            return resp.status, parsed
        raise AssertionError("unreachable")

    def watch(self, path: str) -> Iterator[Obj]:
        """The events of one watch request (ends when the server closes it)."""
        conn = self._connect(WATCH_SECONDS + 30)
        try:
            conn.request("GET", path, headers=self._headers())
            resp = conn.getresponse()
            if resp.status != 200:
                raise ApiError(f"watch {path}: HTTP {resp.status} {resp.read()[:200]!r}")
            while True:
                line = resp.readline()
                if not line:
                    return
                if line.strip():
                    yield json.loads(line)
        finally:
            conn.close()


def query(**params: Any) -> str:
    return urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})


class Informer(threading.Thread):
    """List, then watch; relist after every watch period, on 410 Gone, on errors, or when a handler failed."""

    def __init__(self, api: Api, path: str, handler: Callable[[str, Obj], None], **params: Any) -> None:
        super().__init__(daemon=True, name=path)
        self.api, self.path, self.handler, self.params = api, path, handler, params

    def run(self) -> None:
        while True:
            try:
                self.cycle()
            except Exception as err:
                log(f"{self.path}: {type(err).__name__}: {err}; retrying")
                time.sleep(1 + random.random())

    def handle(self, kind: str, obj: Obj) -> bool:
        try:
            self.handler(kind, obj)
            return True
        except Exception as err:
            meta = obj.get("metadata", {})
            log(f"{self.path} {meta.get('namespace', '')}/{meta.get('name')}: {type(err).__name__}: {err}")
            return False

    def cycle(self) -> None:
        status, listing = self.api.request("GET", f"{self.path}?{query(**self.params)}")
        if status != 200:
            raise ApiError(f"list {self.path}: HTTP {status} {listing.get('message', '')}")
        version = listing["metadata"]["resourceVersion"]
        ok = all([self.handle("ADDED", item) for item in listing.get("items", [])])
        if not ok:
            time.sleep(1)
            return
        timeout = WATCH_SECONDS + random.randint(-10, 10)
        params = {
            "watch": 1,
            "resourceVersion": version,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": timeout,
        }
        path = f"{self.path}?{query(**params, **self.params)}"
        for event in self.api.watch(path):
            kind, obj = str(event.get("type")), event.get("object", {})
            if kind == "ERROR":
                return  # usually 410 Gone: relist
            if kind == "BOOKMARK":
                continue
            if not self.handle(kind, obj):
                time.sleep(1)
                return


class Node:
    def __init__(self, api: Api, name: str, volume_dir: Path, pod_cidr: str) -> None:
        self.api = api
        self.name = name
        self.volume_dir = volume_dir
        self.lock = threading.Lock()
        self.network = ipaddress.ip_network(pod_cidr)
        self.ips: dict[str, str] = {}  # pod uid -> IP
        self.next_ip = 2

    # ----------------------------------------------------------------- node

    def register(self) -> None:
        labels = {
            "kubernetes.io/hostname": self.name,
            "kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64",
            "beta.kubernetes.io/os": "linux",
            "beta.kubernetes.io/arch": "amd64",
            "node.kubernetes.io/instance-type": "simulated",
            SIMULATED_LABEL: "true",
        }
        body = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": self.name, "labels": labels}}
        status, resp = self.api.request("POST", "/api/v1/nodes", body)
        if status == 201:
            log(f"registered node {self.name}")
        elif status == 409:
            # Registered by an earlier run (perhaps one without the simulated-node label): label it now.
            patch = {"metadata": {"labels": labels}}
            code, resp = self.api.request(
                "PATCH", f"/api/v1/nodes/{self.name}", patch, "application/merge-patch+json"
            )
            if code != 200:
                raise ApiError(f"label node: HTTP {code} {resp.get('message', '')}")
        else:
            raise ApiError(f"create node: HTTP {status} {resp.get('message', '')}")
        self.report_status()
        self.remove_not_ready_taint()

    def report_status(self) -> int:
        stamp = now()

        def condition(kind: str, value: str, reason: str, message: str) -> Obj:
            return {
                "type": kind,
                "status": value,
                "reason": reason,
                "message": message,
                "lastHeartbeatTime": stamp,
                "lastTransitionTime": stamp,
            }

        status = {
            "capacity": CAPACITY,
            "allocatable": CAPACITY,
            "conditions": [
                condition("Ready", "True", "KubeletReady", "simulated node is posting ready status"),
                condition("MemoryPressure", "False", "KubeletHasSufficientMemory", "sufficient memory"),
                condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "no disk pressure"),
                condition("PIDPressure", "False", "KubeletHasSufficientPID", "sufficient PIDs"),
                condition("NetworkUnavailable", "False", "RouteCreated", "simulated network"),
            ],
            "addresses": [
                {"type": "InternalIP", "address": NODE_IP},
                {"type": "Hostname", "address": self.name},
            ],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": KUBELET_PORT}},
            "nodeInfo": {
                "machineID": "simulated",
                "systemUUID": "simulated",
                "bootID": "simulated",
                "kernelVersion": "simulated",
                "osImage": "simulated node (scripts/simnode.py)",
                "containerRuntimeVersion": "simulated://1.0",
                "kubeletVersion": "v1.20.2",
                "kubeProxyVersion": "v1.20.2",
                "operatingSystem": "linux",
                "architecture": "amd64",
            },
        }
        code, resp = self.api.request(
            "PATCH",
            f"/api/v1/nodes/{self.name}/status",
            {"status": status},
            "application/strategic-merge-patch+json",
        )
        if code not in (200, 404):
            raise ApiError(f"node status: HTTP {code} {resp.get('message', '')}")
        return code

    def remove_not_ready_taint(self) -> None:
        for _ in range(10):
            code, node = self.api.request("GET", f"/api/v1/nodes/{self.name}")
            if code != 200:
                raise ApiError(f"get node: HTTP {code}")
            taints = node.get("spec", {}).get("taints") or []
            keep = [t for t in taints if not t.get("key", "").startswith("node.kubernetes.io/not-ready")]
            if keep == taints:
                return
            patch = {
                "metadata": {"resourceVersion": node["metadata"]["resourceVersion"]},
                "spec": {"taints": keep or None},
            }
            code, resp = self.api.request(
                "PATCH", f"/api/v1/nodes/{self.name}", patch, "application/merge-patch+json"
            )
            if code == 200:
                log("removed the not-ready taint")
                return
            if code != 409:
                raise ApiError(f"patch node taints: HTTP {code} {resp.get('message', '')}")
        raise ApiError("could not remove the not-ready taint (conflicts)")

    def heartbeat(self) -> None:
        while True:
            time.sleep(40)
            try:
                if self.report_status() == 404:
                    log(f"node {self.name} was deleted; registering it again")
                    self.register()
                else:
                    self.remove_not_ready_taint()
            except Exception as err:
                log(f"heartbeat: {type(err).__name__}: {err}")

    def ensure_storage_class(self) -> None:
        code, listing = self.api.request("GET", "/apis/storage.k8s.io/v1/storageclasses")
        if code == 200 and listing.get("items"):
            return
        body = {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": {
                "name": STORAGE_CLASS,
                "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
            },
            "provisioner": PROVISIONER,
            "reclaimPolicy": "Delete",
            "volumeBindingMode": "Immediate",
            "allowVolumeExpansion": True,
        }
        code, resp = self.api.request("POST", "/apis/storage.k8s.io/v1/storageclasses", body)
        if code == 201:
            log(f"created default StorageClass {STORAGE_CLASS}")
        elif code != 409:
            raise ApiError(f"create StorageClass: HTTP {code} {resp.get('message', '')}")

    # ----------------------------------------------------------------- pods

    def pod_ip(self, pod: Obj) -> str:
        uid = pod["metadata"]["uid"]
        if pod["spec"].get("hostNetwork"):
            return NODE_IP
        with self.lock:
            if uid in self.ips:
                return self.ips[uid]
            used = set(self.ips.values())
            size = self.network.num_addresses
            for _ in range(size):
                candidate = str(self.network.network_address + self.next_ip)
                self.next_ip = self.next_ip + 1 if self.next_ip + 1 < size - 1 else 2
                if candidate not in used:
                    self.ips[uid] = candidate
                    return candidate
        raise ApiError("pod IP range exhausted")

    def on_pod(self, event: str, pod: Obj) -> None:
        meta, spec, status = pod["metadata"], pod.get("spec", {}), pod.get("status", {})
        ns, name, uid = meta["namespace"], meta["name"], meta["uid"]
        if event == "DELETED":
            with self.lock:
                self.ips.pop(uid, None)
            return
        if status.get("podIP") and uid not in self.ips and not spec.get("hostNetwork"):
            with self.lock:
                self.ips[uid] = status["podIP"]
        if meta.get("deletionTimestamp"):
            # A kubelet stops the containers, then removes the pod for good.
            body = {
                "kind": "DeleteOptions",
                "apiVersion": "v1",
                "gracePeriodSeconds": 0,
                "preconditions": {"uid": uid},
            }
            code, resp = self.api.request("DELETE", f"/api/v1/namespaces/{ns}/pods/{name}", body)
            if code not in (200, 202, 404, 409):
                raise ApiError(f"delete: HTTP {code} {resp.get('message', '')}")
            if code in (200, 202):
                log(f"pod {ns}/{name}: deleted")
            return
        phase = status.get("phase")
        if phase in ("Succeeded", "Failed"):
            return
        completes = spec.get("restartPolicy") == "Never" or any(
            ref.get("kind") == "Job" for ref in meta.get("ownerReferences") or []
        )
        if not completes and phase == "Running" and self.all_running(pod):
            return
        patch = self.completed_status(pod) if completes else self.running_status(pod)
        code, resp = self.api.request(
            "PATCH",
            f"/api/v1/namespaces/{ns}/pods/{name}/status",
            {"status": patch},
            "application/strategic-merge-patch+json",
        )
        if code == 404:
            return
        if code != 200:
            raise ApiError(f"status: HTTP {code} {resp.get('message', '')}")
        log(f"pod {ns}/{name}: {patch['phase']} ({patch['podIP']})")

    @staticmethod
    def all_running(pod: Obj) -> bool:
        statuses = {s.get("name"): s for s in pod.get("status", {}).get("containerStatuses") or []}
        return bool(pod["status"].get("podIP")) and all(
            statuses.get(c["name"], {}).get("ready") for c in pod["spec"].get("containers", [])
        )

    def container_id(self, pod: Obj, container: str) -> str:
        return f"simulated://{pod['metadata']['uid'][:18]}-{container}"

    def init_statuses(self, pod: Obj, stamp: str) -> list[Obj]:
        return [
            {
                "name": c["name"],
                "image": c.get("image", ""),
                "imageID": f"simulated://{c.get('image', '')}",
                "containerID": self.container_id(pod, c["name"]),
                "ready": True,
                "restartCount": 0,
                "state": {
                    "terminated": {
                        "exitCode": 0,
                        "reason": "Completed",
                        "startedAt": stamp,
                        "finishedAt": stamp,
                        "containerID": self.container_id(pod, c["name"]),
                    }
                },
            }
            for c in pod["spec"].get("initContainers") or []
        ]

    def base_status(self, pod: Obj, phase: str, ready: bool, reason: str | None) -> Obj:
        stamp = now()
        ip = self.pod_ip(pod)

        def condition(kind: str, value: bool, why: str | None = None) -> Obj:
            cond: Obj = {
                "type": kind,
                "status": "True" if value else "False",
                "lastProbeTime": None,
                "lastTransitionTime": stamp,
            }
            if why:
                cond["reason"] = why
            return cond

        return {
            "phase": phase,
            "hostIP": NODE_IP,
            "podIP": ip,
            "podIPs": [{"ip": ip}],
            "startTime": pod.get("status", {}).get("startTime") or stamp,
            "conditions": [
                condition("Initialized", True, reason),
                condition("Ready", ready, reason),
                condition("ContainersReady", ready, reason),
                condition("PodScheduled", True),
            ],
            "initContainerStatuses": self.init_statuses(pod, stamp),
        }

    def running_status(self, pod: Obj) -> Obj:
        status = self.base_status(pod, "Running", True, None)
        status["containerStatuses"] = [
            {
                "name": c["name"],
                "image": c.get("image", ""),
                "imageID": f"simulated://{c.get('image', '')}",
                "containerID": self.container_id(pod, c["name"]),
                "ready": True,
                "started": True,
                "restartCount": 0,
                "state": {"running": {"startedAt": status["startTime"]}},
            }
            for c in pod["spec"].get("containers", [])
        ]
        return status

    def completed_status(self, pod: Obj) -> Obj:
        # There is no container to run, so a test that needs a failing Pod says
        # so: the annotation's exit code is what the "container" exits with.
        annotations = pod["metadata"].get("annotations") or {}
        try:
            exit_code = int(annotations.get(EXIT_CODE_ANNOTATION, "0"))
        except ValueError:
            exit_code = 1
        failed = exit_code != 0
        status = self.base_status(pod, "Failed" if failed else "Succeeded", False, "PodCompleted")
        stamp = now()
        status["containerStatuses"] = [
            {
                "name": c["name"],
                "image": c.get("image", ""),
                "imageID": f"simulated://{c.get('image', '')}",
                "containerID": self.container_id(pod, c["name"]),
                "ready": False,
                "started": False,
                "restartCount": 0,
                "state": {
                    "terminated": {
                        "exitCode": exit_code,
                        "reason": "Error" if failed else "Completed",
                        "startedAt": status["startTime"],
                        "finishedAt": stamp,
                        "containerID": self.container_id(pod, c["name"]),
                    }
                },
            }
            for c in pod["spec"].get("containers", [])
        ]
        return status

    # ----------------------------------------------------------------- volumes

    def on_claim(self, event: str, pvc: Obj) -> None:
        meta, spec = pvc["metadata"], pvc.get("spec", {})
        if event == "DELETED" or meta.get("deletionTimestamp") or spec.get("volumeName"):
            return
        if pvc.get("status", {}).get("phase", "Pending") != "Pending":
            return
        pv_name = f"pvc-{meta['uid']}"
        path = self.volume_dir / pv_name
        path.mkdir(parents=True, exist_ok=True)
        labels = {MANAGED_LABEL: "true"}
        labels.update((spec.get("selector") or {}).get("matchLabels") or {})
        volume: Obj = {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {
                "name": pv_name,
                "labels": labels,
                "annotations": {"pv.kubernetes.io/provisioned-by": PROVISIONER},
            },
            "spec": {
                "capacity": {
                    "storage": (spec.get("resources", {}).get("requests") or {}).get("storage", "1Gi")
                },
                "accessModes": spec.get("accessModes") or ["ReadWriteOnce"],
                "volumeMode": spec.get("volumeMode") or "Filesystem",
                "persistentVolumeReclaimPolicy": "Delete",
                "storageClassName": spec.get("storageClassName") or "",
                "claimRef": {
                    "apiVersion": "v1",
                    "kind": "PersistentVolumeClaim",
                    "namespace": meta["namespace"],
                    "name": meta["name"],
                    "uid": meta["uid"],
                },
                "hostPath": {"path": str(path), "type": "DirectoryOrCreate"},
            },
        }
        code, resp = self.api.request("POST", "/api/v1/persistentvolumes", volume)
        if code == 201:
            log(f"claim {meta['namespace']}/{meta['name']}: created volume {pv_name}")
        elif code != 409:
            raise ApiError(f"create volume: HTTP {code} {resp.get('message', '')}")

    def on_volume(self, event: str, pv: Obj) -> None:
        meta = pv["metadata"]
        if event == "DELETED":
            path = Path((pv.get("spec", {}).get("hostPath") or {}).get("path", "/nonexistent"))
            if path.parent == self.volume_dir:
                shutil.rmtree(path, ignore_errors=True)
            return
        if meta.get("deletionTimestamp") or pv.get("status", {}).get("phase") not in ("Released", "Failed"):
            return
        if pv.get("spec", {}).get("persistentVolumeReclaimPolicy") != "Delete":
            return
        code, resp = self.api.request("DELETE", f"/api/v1/persistentvolumes/{meta['name']}")
        if code in (200, 202):
            log(f"volume {meta['name']}: released, deleted")
        elif code != 404:
            raise ApiError(f"delete volume: HTTP {code} {resp.get('message', '')}")

    # ----------------------------------------------------------------- services

    def on_service(self, event: str, svc: Obj) -> None:
        if event == "DELETED" or svc.get("spec", {}).get("type") != "LoadBalancer":
            return
        if (svc.get("status", {}).get("loadBalancer") or {}).get("ingress"):
            return
        meta = svc["metadata"]
        patch = {"status": {"loadBalancer": {"ingress": [{"ip": NODE_IP}]}}}
        code, resp = self.api.request(
            "PATCH",
            f"/api/v1/namespaces/{meta['namespace']}/services/{meta['name']}/status",
            patch,
            "application/merge-patch+json",
        )
        if code == 200:
            log(f"service {meta['namespace']}/{meta['name']}: load balancer {NODE_IP}")
        elif code != 404:
            raise ApiError(f"service status: HTTP {code} {resp.get('message', '')}")


def main() -> int:
    parser = argparse.ArgumentParser(description="Simulated Kubernetes node (see scripts/README.md).")
    parser.add_argument("--server", required=True, help="API server URL, e.g. https://127.0.0.1:6443")
    parser.add_argument("--token-file", required=True, help="file holding a bearer token")
    parser.add_argument("--ca-file", help="CA bundle of the API server (default: do not verify)")
    parser.add_argument("--node-name", default="dev-node")
    parser.add_argument("--volume-dir", required=True, help="directory for hostPath volumes")
    parser.add_argument("--pod-cidr", default="10.244.0.0/16")
    args = parser.parse_args()

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    api = Api(args.server, Path(args.token_file).read_text().strip(), args.ca_file)
    volume_dir = Path(args.volume_dir).absolute()
    volume_dir.mkdir(parents=True, exist_ok=True)
    node = Node(api, args.node_name, volume_dir, args.pod_cidr)

    while True:
        try:
            code, _ = api.request("GET", "/readyz")
            if code == 200:
                node.ensure_storage_class()
                node.register()
                break
        except Exception as err:
            log(f"waiting for the API server: {type(err).__name__}: {err}")
        time.sleep(0.5)

    field = f"spec.nodeName={args.node_name}"
    threads = [
        Informer(api, "/api/v1/pods", node.on_pod, fieldSelector=field),
        Informer(api, "/api/v1/persistentvolumeclaims", node.on_claim),
        Informer(api, "/api/v1/persistentvolumes", node.on_volume, labelSelector=f"{MANAGED_LABEL}=true"),
        Informer(api, "/api/v1/services", node.on_service),
        threading.Thread(target=node.heartbeat, daemon=True, name="heartbeat"),
    ]
    for thread in threads:
        thread.start()
    log(f"node {args.node_name} running")
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    sys.exit(main())
