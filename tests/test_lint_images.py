"""manifest-image-tag: a container image that is not pinned (no tag, or `latest`) is a warning at its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from kube.lint import run as lint
from tests.test_lint_security import formula

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      initContainers:
        - name: init
          image: {init}
      containers:
        - name: web
          image: {main}
"""


def images(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, init: str, main: str
) -> list[tuple[str, int, str]]:
    text = DEPLOYMENT.replace("{init}", init).replace("{main}", main)
    path = formula(tmp_path, monkeypatch, {"web.yaml": text})
    return [(f.rule, f.line, f.message) for f in lint.lint([path]).findings if f.rule == "manifest-image-tag"]


@pytest.mark.parametrize(
    "image",
    [
        "nginx:1.27.3",
        "registry:5000/team/app:v2",
        "nginx@sha256:" + "a" * 64,
        "quay.io/x/y:latest@sha256:" + "b" * 64,
    ],
)
def test_pinned_images_pass(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, image: str) -> None:
    assert images(tmp_path, monkeypatch, image, image) == []


def test_latest_and_untagged_images_are_named_at_their_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    got = images(tmp_path, monkeypatch, "busybox", "registry:5000/team/app:latest")
    assert got == [
        (
            "manifest-image-tag",
            11,
            "Deployment/web initContainers[0] (`init`): `busybox` has no tag, so it runs whatever "
            "`latest` is on the day a node pulls it",
        ),
        (
            "manifest-image-tag",
            14,
            "Deployment/web containers[0] (`web`): `registry:5000/team/app:latest` runs `latest`, "
            "which moves: two nodes can run different code",
        ),
    ]
