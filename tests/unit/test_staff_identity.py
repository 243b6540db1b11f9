"""Who is staff (STAFF_ROLES) and what a staff member is called (DISPLAY_NAME_CLAIM), read from the verified claims
as API Gateway hands them over; and the Cognito pool the stack makes has the support group and lets the widget's
client read a name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from aichat.core.identity import MAX_DISPLAY_NAME, identity_from_event
from aichat.core.settings import Settings
from localdev.template import load_template

ROOT = Path(__file__).resolve().parents[2]


def event(**claims: str) -> dict[str, Any]:
    return {"requestContext": {"authorizer": {"jwt": {"claims": {"sub": "u-1", "tenant_id": "acme", **claims}}}}}


@pytest.mark.parametrize(("roles", "staff"), [
    ("[support]", True), ("[admin]", True), ("[admin support]", True), ("support", True),
    ("[]", False), ("[customer]", False), ("supporter", False), ("[support-lead]", False), ("", False),
])
def test_a_caller_is_staff_when_one_of_its_roles_is_a_staff_role(roles: str, staff: bool) -> None:
    assert identity_from_event(event(roles=roles), Settings()).is_staff is staff


def test_the_staff_roles_are_a_setting_read_comma_separated_from_the_environment() -> None:
    settings = Settings.from_environ({"STAFF_ROLES": " agents , tier2 "})
    assert settings.STAFF_ROLES == ("agents", "tier2")
    assert identity_from_event(event(roles="[tier2]"), settings).is_staff
    assert not identity_from_event(event(roles="[support]"), settings).is_staff


def test_a_display_name_comes_from_its_claim_trimmed_bounded_and_without_control_characters() -> None:
    assert identity_from_event(event(name="  Jane Doe "), Settings()).display_name == "Jane Doe"
    assert identity_from_event(event(name="Jane\u0000\u202e Doe\n"), Settings()).display_name == "Jane Doe"
    assert identity_from_event(event(name="x" * 500), Settings()).display_name == "x" * MAX_DISPLAY_NAME
    assert identity_from_event(event(), Settings()).display_name is None
    assert identity_from_event(event(name="   "), Settings()).display_name is None
    given = Settings.from_environ({"DISPLAY_NAME_CLAIM": "nickname"})
    assert identity_from_event(event(nickname="JD", name="Jane"), given).display_name == "JD"


def test_the_stacks_cognito_pool_has_a_support_group_and_its_client_may_read_a_name() -> None:
    resources = load_template(ROOT / "template.yaml")["Resources"]
    groups = {r["Properties"]["GroupName"] for r in resources.values() if r["Type"] == "AWS::Cognito::UserPoolGroup"}
    assert set(Settings().STAFF_ROLES) <= groups
    client = resources["UserPoolClient"]["Properties"]
    assert Settings().DISPLAY_NAME_CLAIM in client["ReadAttributes"]
    assert "custom:tenant_id" not in client["WriteAttributes"]
