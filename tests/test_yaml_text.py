"""kube.core.yaml_text: the YAML kube prints reads back, in kubectl's YAML 1.1 and in YAML 1.2,
as the very data it was made from."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from ruamel.yaml import YAML

from kube.core import yaml_text

TRICKY = [
    "no", "on", "off", "yes", "Y", "~", "null", "true", "0755", "0x1F", "1e3", "1_000", "12:30",
    ".inf", "<<", "=", "", "-", "a: b", "# not a comment", "line one\nline two\n", "\u202eevil",
    "tab\there", "x" * 5000, " ".join(["word"] * 400),
]  # fmt: skip


@pytest.mark.parametrize("value", TRICKY)
def test_a_string_reads_back_as_the_same_string_in_yaml_1_1_and_1_2(value: str) -> None:
    document = {"data": {"key": value}, "list": [value]}

    text = yaml_text.dump(document)

    assert yaml.safe_load(text) == document  # YAML 1.1, as kubectl reads it
    assert YAML(typ="safe", pure=True).load(text) == document  # YAML 1.2


def test_long_strings_are_not_folded() -> None:
    value = " ".join(["word"] * 400)

    text = yaml_text.dump({"key": value, "hash": "sha256:" + "a" * 200})

    assert text.splitlines() == [f"key: {value}", f"hash: sha256:{'a' * 200}"]


def test_keys_keep_their_order_unless_sorted() -> None:
    document: dict[str, Any] = {"kind": "ConfigMap", "apiVersion": "v1", "data": {"b": "1", "a": "2"}}

    assert yaml_text.dump(document).splitlines()[:2] == ["kind: ConfigMap", "apiVersion: v1"]
    assert yaml_text.dump(document, sort_keys=True).splitlines() == [
        "apiVersion: v1", "data:", '  a: "2"', '  b: "1"', "kind: ConfigMap",
    ]  # fmt: skip


def test_documents_are_separated() -> None:
    text = yaml_text.dump_all([{"a": 1}, {"b": 2}])

    assert list(yaml.safe_load_all(text)) == [{"a": 1}, {"b": 2}]
    assert text.count("---") == 1
