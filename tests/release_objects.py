"""A realistic rendered formula for sizing release records: Deployments, Services and ConfigMaps.

Sized after what charts ship (a Deployment with probes, resources, an env of a dozen entries
and a pinned image digest is about 2 KB of JSON; a Service 0.5 KB; a ConfigMap holding a small
config file 1 KB), with the labels kube adds, and with what does not compress: a distinct name,
an image digest and a checksum annotation per object, and a uid per recorded object.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from kube.k8s.kubectl import ObjectRef
from kube.k8s.release_format import RecordedObject


def _digest(seed: str) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()


def _labels(app: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": app,
        "app.kubernetes.io/instance": "shop",
        "app.kubernetes.io/component": "backend",
        "app.kubernetes.io/managed-by": "kube",
        "kube.sh/formula": "shop",
        "kube.sh/version": "2.4.1",
    }


def deployment(namespace: str, app: str) -> dict[str, Any]:
    env = [{"name": f"SETTING_{i}", "value": f"{app}-value-{i}"} for i in range(10)]
    env.append({"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "shop-db", "key": "password"}}})
    probe = {"httpGet": {"path": "/healthz", "port": "http"}, "initialDelaySeconds": 5, "periodSeconds": 10}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": app,
            "namespace": namespace,
            "labels": _labels(app),
            "annotations": {"checksum/config": _digest(app + "config")},
        },
        "spec": {
            "replicas": 2,
            "selector": {
                "matchLabels": {"app.kubernetes.io/name": app, "app.kubernetes.io/instance": "shop"}
            },
            "template": {
                "metadata": {"labels": _labels(app)},
                "spec": {
                    "serviceAccountName": "shop",
                    "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "fsGroup": 10001},
                    "containers": [
                        {
                            "name": "app",
                            "image": f"registry.example.com/shop/{app}@sha256:{_digest(app)}",
                            "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
                            "env": env,
                            "resources": {
                                "requests": {"cpu": "100m", "memory": "128Mi"},
                                "limits": {"cpu": "500m", "memory": "512Mi"},
                            },
                            "livenessProbe": probe,
                            "readinessProbe": probe,
                            "volumeMounts": [{"name": "config", "mountPath": "/etc/app", "readOnly": True}],
                        }
                    ],
                    "volumes": [{"name": "config", "configMap": {"name": f"{app}-config"}}],
                },
            },
        },
    }


def service(namespace: str, app: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": app, "namespace": namespace, "labels": _labels(app)},
        "spec": {
            "type": "ClusterIP",
            "selector": {"app.kubernetes.io/name": app, "app.kubernetes.io/instance": "shop"},
            "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def config_map(namespace: str, app: str) -> dict[str, Any]:
    config = "\n".join(
        [
            "server:",
            "  port: 8080",
            f"  name: {app}",
            "logging:",
            "  level: info",
            "  format: json",
            "database:",
            f"  url: postgres://shop-db.{namespace}.svc:5432/{app.replace('-', '_')}",
            "  pool: 10",
            f"cache:\n  prefix: {_digest(app + 'cache')[:16]}\n  ttl: 300s",
            "features:",
            *(f"  flag_{i}: {'true' if i % 2 else 'false'}" for i in range(12)),
        ]
    )
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": f"{app}-config", "namespace": namespace, "labels": _labels(app)},
        "data": {"config.yaml": config},
    }


def render(count: int, namespace: str = "shop") -> list[dict[str, Any]]:
    """``count`` objects: a ConfigMap, a Deployment and a Service per app, in that order."""
    objects: list[dict[str, Any]] = []
    app = 0
    makers = (config_map, deployment, service)
    while len(objects) < count:
        objects.append(makers[len(objects) % 3](namespace, f"shop-service-{app:05d}"))
        if len(objects) % 3 == 0:
            app += 1
    return objects


def recorded(manifest: list[dict[str, Any]]) -> tuple[RecordedObject, ...]:
    """The object list as the API server confirmed it: a fresh uid each."""
    return tuple(RecordedObject(ObjectRef.of(o), str(uuid.uuid4())) for o in manifest)
