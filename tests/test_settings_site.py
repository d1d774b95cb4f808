import pytest
from django.urls import reverse

from channels_app.models import Channel, EntryPointSettings, PhoneNumber, RoutingException
from inbox.models import User
from tests.conftest import totp_code_for
from tests.factories import make_admin, make_entry_point, make_inbox, make_user

SETTINGS_PAGES = [
    "admin:index",
    "admin:channels_app_channel_changelist",
    "admin:channels_app_entrypointsettings_changelist",
    "admin:channels_app_entrypoint_changelist",
    "admin:channels_app_phonenumber_changelist",
    "admin:channels_app_phonenumber_add",
    "admin:inbox_inbox_changelist",
    "admin:inbox_inbox_add",
    "admin:inbox_user_changelist",
    "admin:inbox_user_add",
]


@pytest.mark.parametrize("name", SETTINGS_PAGES)
def test_admin_with_two_factor_opens_every_settings_page(admin_client, name):
    response = admin_client.get(reverse(name))

    assert response.status_code == 200


@pytest.mark.parametrize("name", SETTINGS_PAGES)
def test_agent_is_refused_settings(client, db, name):
    client.force_login(make_user())

    response = client.get(reverse(name))

    assert response.status_code in (302, 403)
    if response.status_code == 302:
        assert response["Location"].startswith(reverse("admin:login"))
        assert client.get(response["Location"]).status_code == 403


def test_signed_out_visitor_is_sent_to_sign_in(client, db):
    response = client.get(reverse("admin:index"), follow=True)

    assert response.redirect_chain[-1][0].startswith(reverse("account_login"))


def test_admin_without_two_factor_must_set_it_up_first(client, db):
    client.force_login(make_admin())

    response = client.get(reverse("admin:inbox_inbox_changelist"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("mfa_activate_totp"))


def test_admin_signs_in_with_password_and_authenticator_code(client, admin_user):
    response = client.post(reverse("account_login"), {"login": admin_user.email, "password": "pw-for-tests-123"})
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_authenticate")

    response = client.post(reverse("mfa_authenticate"), {"code": totp_code_for(admin_user)})

    assert response.status_code == 302
    assert client.get(reverse("admin:index")).status_code == 200


def test_sign_up_is_closed(client, db):
    response = client.get(reverse("account_signup"))

    assert b"Sign Up Closed" in response.content or response.status_code == 403


def test_channels_cannot_be_added_or_deleted_by_hand(admin_client):
    messaging = Channel.objects.get(kind=Channel.Kind.MESSAGING)

    assert admin_client.get(reverse("admin:channels_app_channel_add")).status_code == 403
    assert admin_client.get(reverse("admin:channels_app_channel_delete", args=[messaging.pk])).status_code == 403


def _entry_point_form(channel, default_inbox, exceptions=(), entry_points=()):
    data = {
        "default_inbox": default_inbox.pk if default_inbox else "",
        "exceptions-TOTAL_FORMS": len(exceptions),
        "exceptions-INITIAL_FORMS": 0,
        "exceptions-MIN_NUM_FORMS": 0,
        "exceptions-MAX_NUM_FORMS": 1000,
        "entry_points-TOTAL_FORMS": len(entry_points),
        "entry_points-INITIAL_FORMS": len(entry_points),
        "entry_points-MIN_NUM_FORMS": 0,
        "entry_points-MAX_NUM_FORMS": 1000,
    }
    for index, (entry_point, inbox) in enumerate(exceptions):
        data[f"exceptions-{index}-entry_point"] = entry_point.pk
        data[f"exceptions-{index}-inbox"] = inbox.pk
    for index, (entry_point, active) in enumerate(entry_points):
        data[f"entry_points-{index}-id"] = entry_point.pk
        data[f"entry_points-{index}-channel"] = channel.pk
        if active:
            data[f"entry_points-{index}-active"] = "on"
    return data


def test_entry_points_page_saves_default_inbox_and_exception(admin_client):
    channel = EntryPointSettings.objects.get(kind=Channel.Kind.MESSAGING)
    default, vip = make_inbox("Instagram"), make_inbox("VIP")
    entry_point = make_entry_point(display_name="@acme")
    url = reverse("admin:channels_app_entrypointsettings_change", args=[channel.pk])

    response = admin_client.post(url, _entry_point_form(channel, default, [(entry_point, vip)], [(entry_point, True)]))

    assert response.status_code == 302, response.context["errors"] if response.context else response
    channel.refresh_from_db()
    assert channel.default_inbox == default
    assert RoutingException.objects.get().inbox == vip


def test_an_exception_must_use_an_entry_point_of_the_same_channel(admin_client):
    messaging = EntryPointSettings.objects.get(kind=Channel.Kind.MESSAGING)
    email_entry_point = make_entry_point(kind="email_address", channel_kind=Channel.Kind.EMAIL)
    inbox = make_inbox("Instagram")
    url = reverse("admin:channels_app_entrypointsettings_change", args=[messaging.pk])

    response = admin_client.post(url, _entry_point_form(messaging, inbox, [(email_entry_point, inbox)]))

    assert response.status_code == 200
    assert not RoutingException.objects.exists()
    assert "Select a valid choice" in response.content.decode()


def test_pausing_an_entry_point_from_the_entry_points_page(admin_client):
    channel = EntryPointSettings.objects.get(kind=Channel.Kind.MESSAGING)
    entry_point = make_entry_point()
    url = reverse("admin:channels_app_entrypointsettings_change", args=[channel.pk])

    admin_client.post(url, _entry_point_form(channel, None, entry_points=[(entry_point, False)]))

    entry_point.refresh_from_db()
    assert entry_point.active is False


def test_admin_adds_a_held_phone_number_and_connects_it(admin_client):
    admin_client.post(reverse("admin:channels_app_phonenumber_add"), {"e164": "+14155550199", "label": "Line"})
    number = PhoneNumber.objects.get()
    assert number.status == PhoneNumber.Status.HELD

    admin_client.post(
        reverse("admin:channels_app_phonenumber_changelist"),
        {"action": "connect_to_voice", "_selected_action": [number.pk]},
    )

    number.refresh_from_db()
    assert number.status == PhoneNumber.Status.CONNECTED
    assert number.entry_point.channel.kind == Channel.Kind.VOICE


def test_admin_creates_an_agent(admin_client):
    response = admin_client.post(
        reverse("admin:inbox_user_add"),
        {
            "email": "new.agent@example.test",
            "first_name": "New",
            "last_name": "Agent",
            "role": "agent",
            "password1": "a-long-enough-password-42",
            "password2": "a-long-enough-password-42",
        },
    )

    assert response.status_code == 302
    agent = User.objects.get(email="new.agent@example.test")
    assert agent.role == User.Role.AGENT
    assert not agent.is_staff
