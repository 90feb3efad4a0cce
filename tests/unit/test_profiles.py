"""The profile and Zendesk user predicates every module shares."""
import pytest

from integration.profiles.profile_rules import is_gone
from integration.profiles.user_rules import is_end_user, is_present


@pytest.mark.parametrize("profile, gone", [
    (None, True), ({"profile_type": "deleted"}, True), ({"profile_type": "merged"}, True),
    ({"profile_type": "active"}, False), ({}, False)])
def test_is_gone(profile, gone):
    assert is_gone(profile) is gone


@pytest.mark.parametrize("user, present", [
    (None, False), ({"active": False}, False), ({"active": True}, True), ({"active": None}, True), ({}, True)])
def test_is_present(user, present):
    assert is_present(user) is present


@pytest.mark.parametrize("role, end_user", [(None, True), ("end-user", True), ("agent", False), ("admin", False)])
def test_is_end_user(role, end_user):
    assert is_end_user({"role": role}) is end_user
