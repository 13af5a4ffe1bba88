"""The product's rules, as pure functions of a project snapshot: who sees, who may change what."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime

import pytest

from loom_web.projects import rules
from loom_web.projects.snapshots import Member, ProjectView

ADA, GRACE, STRANGER = 1, 2, 3
PROJECT = ProjectView(
    id=7,
    name="Loom",
    description="",
    owner_id=ADA,
    created_at=datetime(2026, 1, 1, tzinfo=UTC),
    members=(
        Member(id=ADA, name="Ada", email="ada@example.com", role="owner"),
        Member(id=GRACE, name="Grace", email="grace@example.com", role="member"),
    ),
)


def test_members_and_the_operator_see_a_project_and_nobody_else_does() -> None:
    assert rules.may_see(PROJECT, ADA) and rules.may_see(PROJECT, GRACE)
    assert rules.may_see(PROJECT, None)  # the operator token
    assert not rules.may_see(PROJECT, STRANGER)


def test_only_the_owner_may_take_an_owners_action() -> None:
    rules.check_owner(PROJECT, ADA, "export it")
    with pytest.raises(rules.NotAllowed, match="only the project's owner can export it"):
        rules.check_owner(PROJECT, GRACE, "export it")
    assert rules.NotAllowed.status == 403


def test_an_assignee_must_be_a_member_and_names_the_field() -> None:
    rules.check_assignee(PROJECT, GRACE)
    rules.check_assignee(PROJECT, None)
    with pytest.raises(rules.Invalid) as refused:
        rules.check_assignee(PROJECT, STRANGER)
    assert (refused.value.status, refused.value.field) == (422, "assignee_id")


def test_inviting_a_member_twice_is_a_conflict() -> None:
    with pytest.raises(rules.Conflict, match=r"grace@example\.com is already a member"):
        rules.check_new_member(PROJECT, GRACE, "grace@example.com")
    rules.check_new_member(PROJECT, STRANGER, "someone@example.com")


def test_a_patch_may_not_null_a_required_field() -> None:
    rules.check_not_null({"title": "x", "assignee_id": None}, ("title", "status"))
    with pytest.raises(rules.Invalid, match="status cannot be null"):
        rules.check_not_null({"status": None}, ("title", "status"))


def test_nobody_is_emailed_about_a_task_they_assigned_to_themselves() -> None:
    assert rules.should_tell_assignee(GRACE, by_user_id=ADA)
    assert not rules.should_tell_assignee(ADA, by_user_id=ADA)
    assert not rules.should_tell_assignee(None, by_user_id=ADA)


def test_the_snapshot_survives_the_shared_cache_and_cannot_be_changed() -> None:
    # Redis and the file cache pickle what they hold.
    assert pickle.loads(pickle.dumps(PROJECT)) == PROJECT
    with pytest.raises(AttributeError):
        PROJECT.name = "changed"  # type: ignore[misc]
