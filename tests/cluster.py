"""Cluster fixtures (filled in with scripts/dev-cluster)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def cluster() -> None:
    pytest.skip("local control plane fixture not written yet")


@pytest.fixture
def namespace() -> None:
    pytest.skip("local control plane fixture not written yet")


@pytest.fixture
def kubectl() -> None:
    pytest.skip("local control plane fixture not written yet")
