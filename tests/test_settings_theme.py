"""Settings in the product's words: navigation, home, titles, no stock leftovers, Rules' summary and dry run."""

from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse

from channels_app.meta.models import WebhookEvent
from channels_app.models import Channel, EntryPointSettings
from config import admin_site
from conversations.models import Rule, RuleFiring
from tests.factories import make_conversation, make_entry_point, make_inbox, make_item, make_user


def nav_for(user):
    request = RequestFactory().get("/settings/inbox/inbox/")
    request.user = user
    return admin.site.settings_nav(request)


def test_navigation_groups_pages_the_way_admins_think(admin_user):
    groups, current = nav_for(admin_user)

    labels = {group["label"]: [item["label"] for item in group["items"]] for group in groups}
    assert labels["Channels"][:2] == ["Entry Points", "Instagram"]
    assert labels["Routing"] == ["Inboxes", "Exceptions", "Business Hours", "Rules"]
    assert labels["People"] == ["Users"]
    assert current["label"] == "Inboxes" and current["group"] == "Routing"


def test_navigation_skips_models_that_are_not_registered(admin_user, monkeypatch):
    monkeypatch.setattr(admin_site, "NAV", [("Channels", [("Carrier pigeons", "pigeons.loft")])])

    groups, _ = nav_for(admin_user)

    assert "Carrier pigeons" not in [item["label"] for group in groups for item in group["items"]]


def test_home_lists_what_needs_attention_with_links(admin_client):
    make_inbox("Lonely")
    WebhookEvent.objects.create(object="instagram", body="{}", status=WebhookEvent.Status.FAILED)

    page = admin_client.get(reverse("admin:index")).content.decode()

    assert "Lonely has no members" in page
    assert "1 webhook event from Meta failed" in page
    assert "/settings/meta/webhookevent/?status__exact=failed" in page
    assert "Recent actions" not in page


def test_home_names_an_entry_point_that_reaches_no_inbox(admin_client):
    make_entry_point(display_name="@nowhere")

    page = admin_client.get(reverse("admin:index")).content.decode()

    assert "@nowhere reaches no Inbox" in page


def test_lists_are_titled_with_the_product_words_and_breadcrumbs_start_at_settings(admin_client):
    page = admin_client.get(reverse("admin:inbox_inbox_changelist")).content.decode()

    assert "<h1>Inboxes</h1>" in page
    assert "Select inbox to change" not in page
    assert '<li><a href="/settings/">Settings</a></li>' in page
    assert "View site" not in page
    assert "Welcome," not in page


def test_no_related_object_icons_beside_selects(admin_client):
    channel = EntryPointSettings.objects.get(kind=Channel.Kind.MESSAGING)

    page = admin_client.get(reverse("admin:channels_app_entrypointsettings_change", args=[channel.pk])).content

    assert b"related-widget-wrapper-link" not in page


def test_no_save_and_add_another(admin_client):
    page = admin_client.get(reverse("admin:inbox_inbox_add")).content.decode()

    assert "_addanother" not in page
    assert "<h1>New inbox</h1>" in page


def test_users_list_shows_inboxes_and_two_factor(admin_client):
    make_inbox("VIP", members=[make_user(email="ada@example.test")])

    page = admin_client.get(reverse("admin:inbox_user_changelist")).content.decode()

    assert "VIP" in page
    assert "Two-factor" in page


def test_rule_summary_reads_as_a_sentence(db):
    vip = make_inbox("VIP")
    rule = Rule.objects.create(name="Refunds", words="refund", move_to_inbox=vip, customer_is_new=True)

    assert admin.site._registry[Rule].summary(rule) == (
        "When a customer writes, if the text contains “refund” and the customer is new, then move it to VIP."
    )


def test_dry_run_lists_touched_conversations_without_applying(admin_client):
    vip = make_inbox("VIP")
    rule = Rule.objects.create(name="Refunds", words="refund", move_to_inbox=vip)
    refund = make_conversation(inbox=make_inbox("Instagram"))
    make_item(refund, text="I want a refund please")
    other = make_conversation(inbox=refund.inbox)
    make_item(other, text="Where is my parcel?")
    for conversation in (refund, other):
        conversation.last_customer_message_at = conversation.opened_at
        conversation.save()

    page = admin_client.get(reverse("admin:conversations_rule_dry_run", args=[rule.pk])).content.decode()

    assert "1 conversation would have been touched" in page
    assert "I want a refund please" in page
    assert "Where is my parcel?" not in page
    refund.refresh_from_db()
    assert refund.inbox.name == "Instagram"
    assert not RuleFiring.objects.exists()


def test_business_hours_grid_offers_one_new_interval_per_day(admin_client):
    page = admin_client.get(reverse("admin:conversations_businesshours_add")).content.decode()

    for day in ("Monday", "Sunday"):
        assert f'<th scope="row">{day}</th>' in page
    assert 'name="intervals-6-weekday" value="6"' in page
