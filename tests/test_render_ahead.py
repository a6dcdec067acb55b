"""The render an install makes while the release read is under way (``pipeline.render_ahead``):
used only for the plan it was made for, its errors raised where the install renders, and never
made for a formula whose hook would run. No cluster: a kubectl that fails if it is ever run."""

from __future__ import annotations

from pathlib import Path

import pytest

from kube.core.errors import RenderError
from kube.install import pipeline as install
from kube.install.results import InstallOptions
from kube.k8s.kubectl import Kubectl
from tests.test_install import write_formula

# Dry run, capabilities offline: nothing here may reach a cluster (kubectl is `false`).
OPTIONS = InstallOptions(dry_run=True, offline=True)
TEMPLATE = (
    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: where}\ndata: {ns: '{{ kube.namespace }}', v: '1'}\n"
)


def _never() -> Kubectl:
    return Kubectl(binary="false")


def _data(result: install.InstallResult) -> dict[str, str]:
    [obj] = result.rendered
    return dict(obj.data["data"])


def test_the_render_ahead_is_what_the_install_of_that_plan_uses(tmp_path: Path) -> None:
    directory = write_formula(tmp_path, "early", manifests={"where.yaml.tmpl": TEMPLATE})
    source = install.resolve(str(directory))
    ahead = install.render_ahead(source, _never(), OPTIONS, namespace="one", release=None)
    assert ahead is not None and ahead.error is None
    # Changed after the render ahead: the install uses what was rendered, not the file now.
    (directory / "manifests" / "where.yaml.tmpl").write_text(TEMPLATE.replace("v: '1'", "v: '2'"))
    the_plan = install.offline_plan(source, namespace="one")
    assert _data(install.install(the_plan, _never(), OPTIONS, ahead=ahead)) == {"ns": "one", "v": "1"}
    # Another namespace, release name or options: rendered again, for that plan.
    other = install.offline_plan(source, namespace="two")
    assert _data(install.install(other, _never(), OPTIONS, ahead=ahead)) == {"ns": "two", "v": "2"}
    renamed = install.offline_plan(source, namespace="one", release="early-b")
    assert _data(install.install(renamed, _never(), OPTIONS, ahead=ahead))["v"] == "2"
    assert (
        _data(install.install(the_plan, _never(), InstallOptions(dry_run=True, offline=True), ahead=ahead))[
            "v"
        ]
        == "2"
    )


def test_an_error_of_the_render_ahead_is_raised_where_the_install_renders(tmp_path: Path) -> None:
    broken = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: '{{ missing.attr }}'}\n"
    directory = write_formula(tmp_path, "broken", manifests={"bad.yaml.tmpl": broken})
    source = install.resolve(str(directory))
    ahead = install.render_ahead(source, _never(), OPTIONS, namespace="one", release=None)
    assert ahead is not None and isinstance(ahead.error, RenderError)
    with pytest.raises(RenderError) as raised:
        install.install(install.offline_plan(source, namespace="one"), _never(), OPTIONS, ahead=ahead)
    assert raised.value is ahead.error
    assert "bad.yaml.tmpl" in raised.value.message


def test_a_formula_whose_hook_would_run_is_not_rendered_ahead(tmp_path: Path) -> None:
    ran = tmp_path / "ran"
    hook = f"open({str(ran)!r}, 'w').write('ran')\n"
    directory = write_formula(tmp_path, "hooked", manifests={"where.yaml.tmpl": TEMPLATE}, hook=hook)
    source = install.resolve(str(directory))
    assert install.render_ahead(source, _never(), OPTIONS, namespace="one", release=None) is None
    assert not ran.exists()
    # With hooks off (--no-hooks) nothing would run: rendered ahead.
    no_hooks = InstallOptions(dry_run=True, offline=True, hooks=False)
    ahead = install.render_ahead(source, _never(), no_hooks, namespace="one", release=None)
    assert ahead is not None and ahead.error is None and not ran.exists()
