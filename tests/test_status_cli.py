"""What kube status tells a user to do next, by what the release is missing."""

from __future__ import annotations


def test_the_hint_for_what_was_not_created_says_whether_the_formula_needs_fixing() -> None:
    from kube.cli.status import _not_current_hint
    from kube.k8s.kubectl import ObjectRef
    from kube.k8s.status import Release

    ref = ObjectRef("", "v1", "ConfigMap", "ns", "c")
    stopped = Release("web", "ns", "1.0.0", (), ((ref, "not created: not attempted (the install stopped)"),))
    assert (
        _not_current_hint(stopped)
        == "run the same `kube install` again: it resumes and creates what is missing"
    )
    refused = Release("web", "ns", "1.0.0", (), ((ref, "not created: Invalid: spec.x"),))
    assert "needs a fixed formula: `kube upgrade web -n ns`" in _not_current_hint(refused)
    assert "--watch" in _not_current_hint(Release("web", "ns", "1.0.0", (), ()))
