"""Tests read nothing beside the checkout: a user's clone has nothing there."""

from __future__ import annotations

import pytest

from fixture_paths import REPO, TINY_MODEL, TINY_REFERENCE


def test_fixtures_live_in_the_repository():
    assert TINY_MODEL.is_relative_to(REPO / "tests") and TINY_MODEL.is_dir()
    assert TINY_REFERENCE.is_relative_to(REPO / "tests") and TINY_REFERENCE.is_file()


def test_a_read_beside_the_checkout_fails_the_test():
    """The guard in conftest.py refuses it, whether or not the file exists there."""
    with pytest.raises(PermissionError, match="outside the repository"):
        open(REPO.parent / "fixtures-beside-the-checkout" / "README.md")
    with pytest.raises(PermissionError, match="outside the repository"):
        list((REPO.parent / "no-such-sibling").iterdir())
