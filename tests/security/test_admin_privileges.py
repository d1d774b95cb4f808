import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.contrib import admin

from inbox.models import User
from tests.factories import make_admin, make_user

NEW_PASSWORD = "a-new-password-for-the-target-42"


@pytest.fixture
def superuser(db):
    return User.objects.create_superuser("support@example.test", "superuser-password-123")


def _set_password(client, user):
    return client.post(
        f"/settings/inbox/user/{user.pk}/password/",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )


def _reauthenticate(client, password="pw-for-tests-123"):
    response = client.post("/accounts/reauthenticate/", {"password": password})
    assert response.status_code == 302, response.content


def test_an_admin_cannot_set_a_superusers_password(admin_client, superuser):
    _reauthenticate(admin_client)

    response = _set_password(admin_client, superuser)

    assert response.status_code in (403, 404)
    superuser.refresh_from_db()
    assert not superuser.check_password(NEW_PASSWORD)


def test_an_admin_cannot_open_or_change_a_superuser(admin_client, superuser):
    assert admin_client.get(f"/settings/inbox/user/{superuser.pk}/change/").status_code in (302, 403, 404)

    response = admin_client.post(
        f"/settings/inbox/user/{superuser.pk}/change/",
        {"email": "mine@example.test", "role": "agent", "capacity": 8, "is_active": ""},
    )

    superuser.refresh_from_db()
    assert response.status_code in (302, 403, 404)
    assert (superuser.email, superuser.is_active) == ("support@example.test", True)


def test_superusers_are_not_listed_for_an_admin(admin_client, superuser):
    response = admin_client.get("/settings/inbox/user/")

    assert b"support@example.test" not in response.content


def test_an_admin_cannot_make_anyone_a_superuser(admin_client):
    agent = make_user(email="agent@example.test")

    admin_client.post(
        f"/settings/inbox/user/{agent.pk}/change/",
        {
            "email": "agent@example.test",
            "role": "agent",
            "capacity": 8,
            "is_active": "on",
            "is_superuser": "on",
            "is_staff": "on",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
        },
    )

    agent.refresh_from_db()
    assert not agent.is_superuser
    assert not agent.is_staff


def test_is_superuser_and_permissions_are_read_only_for_an_admin(rf, admin_user):
    request = rf.get("/settings/inbox/user/")
    request.user = admin_user
    readonly = admin.site._registry[User].get_readonly_fields(request, make_user())

    assert {"is_superuser", "is_staff", "user_permissions", "groups"} <= set(readonly)


def test_setting_another_users_password_needs_the_admin_to_reauthenticate(admin_client):
    agent = make_user()

    response = _set_password(admin_client, agent)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/reauthenticate/")
    agent.refresh_from_db()
    assert not agent.check_password(NEW_PASSWORD)


def test_after_reauthenticating_an_admin_sets_an_agents_password(admin_client):
    agent = make_user()
    _reauthenticate(admin_client)

    response = _set_password(admin_client, agent)

    assert response.status_code == 302
    agent.refresh_from_db()
    assert agent.check_password(NEW_PASSWORD)


def test_a_wrong_password_does_not_reauthenticate(admin_client):
    agent = make_user()
    admin_client.post("/accounts/reauthenticate/", {"password": "not-my-password"})

    response = _set_password(admin_client, agent)

    assert response["Location"].startswith("/accounts/reauthenticate/")


def test_a_superuser_may_still_set_an_admins_password(client, superuser):
    other_admin = make_admin()
    TOTP.activate(superuser, generate_totp_secret())
    client.force_login(superuser)
    _reauthenticate(client, "superuser-password-123")

    response = _set_password(client, other_admin)

    assert response.status_code == 302
    other_admin.refresh_from_db()
    assert other_admin.check_password(NEW_PASSWORD)
