"""Issue #14 in Chromium: the Facebook Login popup (Cancel, Reauthorize), the timeline's scrolling,
the conversation rows, a closed conversation and the composer after a note."""

import os
import re
import time

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from channels_app.meta.models import InstagramAccount
from channels_app.models import Channel
from conversations.models import Attachment, Conversation, TimelineItem
from sandbox import demo_data
from sandbox.models import SandboxPage
from sandbox.png import picture
from tests import factories
from tests.conftest import totp_code_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PASSWORD = "pw-for-tests-123"
SCREENSHOTS = os.path.join(os.path.dirname(__file__), "..", "..", "var", "screenshots", "issue14")


@pytest.fixture
def sandbox(live_server, settings):
    """Facebook Login and the Graph API played by the sandbox of the live app."""
    settings.SITE_URL = live_server.url
    settings.META_GRAPH_URL = f"{live_server.url}/sandbox/meta/graph"
    settings.META_LOGIN_URL = f"{live_server.url}/sandbox/meta/dialog"
    for kind in Channel.Kind.values:
        Channel.objects.get_or_create(kind=kind)
    return live_server.url


def shot(page, name):
    os.makedirs(SCREENSHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SCREENSHOTS, f"{name}.png"), full_page=True)


def admin_page(browser, base, admin_user, path):
    page = browser.new_context(viewport={"width": 1300, "height": 850}).new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{base}/accounts/login/?next={path}")
    page.fill("input[name=login]", admin_user.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.fill("input[name=code]", totp_code_for(admin_user))
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(f".*{re.escape(path)}.*"))
    page.wait_for_load_state("load")
    return page


def agent_page(browser, base, email, height=850):
    page = browser.new_context(viewport={"width": 1300, "height": height}).new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/inbox/.*"))
    return page


def test_cancel_in_the_facebook_login_popup_closes_it_and_tells_the_main_window(sandbox, browser, admin_user):
    from playwright.sync_api import expect

    admin = admin_page(browser, sandbox, admin_user, "/settings/meta/instagramaccount/")
    with admin.expect_popup() as popup_info:
        admin.click("#add-instagram")
    dialog = popup_info.value
    dialog.wait_for_load_state()
    expect(dialog.locator(".fb-dialog")).to_be_visible()
    assert dialog.locator(".topbar").count() == 0  # Facebook's page, not the app's
    shot(dialog, "05-sandbox-facebook-dialog")

    # Wait for the close while clicking: the popup may close before a later wait starts.
    with dialog.expect_event("close", timeout=30_000):
        dialog.click("#fb-cancel")

    expect(admin.locator(".messagelist")).to_contain_text("Facebook Login was cancelled")
    shot(admin, "05-cancel-message-in-main-window")


def test_reauthorize_runs_in_the_popup_with_the_account_ticked_and_resumes(sandbox, browser, admin_user):
    from playwright.sync_api import expect

    page_data = demo_data.PAGES[1]  # @acmeoutlet
    entry_point = factories.make_entry_point(external_id=page_data["ig_id"], display_name=f"@{page_data['username']}")
    account = factories.make_instagram_account(
        entry_point,
        token=demo_data.page_token(page_data["page_id"]),
        page_id=page_data["page_id"],
        page_name=page_data["name"],
        username=page_data["username"],
        status=InstagramAccount.Status.NEEDS_REAUTHORIZATION,
        status_reason="Error validating access token: Session has expired.",
    )
    SandboxPage.objects.update_or_create(page_id=page_data["page_id"], defaults={"token_expired": True})

    admin = admin_page(browser, sandbox, admin_user, "/settings/meta/instagramaccount/")
    shot(admin, "01-list-needs-reauthorization")
    with admin.expect_popup() as popup_info:
        admin.get_by_test_id(f"reauthorize-{account.pk}").click()
    dialog = popup_info.value
    dialog.click("#fb-continue")
    dialog.click("#fb-next")
    dialog.click("#fb-next")
    dialog.click("#fb-done")
    ticked = dialog.locator(f"input[name=page_id][value='{page_data['page_id']}']")
    expect(ticked).to_be_checked()
    assert dialog.locator("input[name=page_id]:checked").count() == 1

    # Nothing ticked: asked again, the login kept.
    ticked.uncheck()
    dialog.click("#confirm-accounts")
    expect(dialog.get_by_test_id("choose-error")).to_contain_text("Tick at least one account")
    shot(dialog, "06-choose-asks-again")
    dialog.locator(f"input[name=page_id][value='{page_data['page_id']}']").check()
    # Wait for the close while clicking: the popup may close before a later wait starts.
    with dialog.expect_event("close", timeout=30_000):
        dialog.click("#confirm-accounts")

    expect(admin.locator(".messagelist")).to_contain_text(f"@{page_data['username']} was reauthorized")
    row = admin.locator("#result_list tr", has_text=page_data["name"])
    expect(row).to_contain_text("Connected")
    shot(admin, "01-reauthorized")
    account.refresh_from_db()
    assert account.status == InstagramAccount.Status.CONNECTED


def _conversation_with_pictures(inbox, entry_point, count=8):
    customer = factories.make_customer(entry_point, name="Maya Lopez", username="mayalopez")
    now = timezone.now()
    conversation = factories.make_conversation(
        inbox=inbox, entry_point=entry_point, customer=customer, last_customer_message_at=now
    )
    for n in range(count):
        item = factories.make_item(
            conversation, text=f"Photo {n}", occurred_at=now - timezone.timedelta(minutes=count - n)
        )
        attachment = Attachment.objects.create(item=item, kind="image", content_type="image/png", status="stored")
        attachment.file.save(f"photo-{n}.png", ContentFile(picture(f"photo-{n}", size=300)))
    factories.make_item(conversation, text="The newest message", occurred_at=now)
    return conversation


def _at_end(page):
    return page.evaluate(
        "() => { const t = document.getElementById('timeline'); "
        "return t.scrollHeight - t.scrollTop - t.clientHeight < 4; }"
    )


def test_the_newest_message_stays_in_view_while_pictures_load_and_a_pill_tells_of_new_ones(
    live_server, browser, settings, tmp_path
):
    from playwright.sync_api import expect

    settings.MEDIA_ROOT = str(tmp_path)
    agent = factories.make_user(email="ada@example.test", password=PASSWORD)
    inbox = factories.make_inbox(name="Instagram", default=True, members=[agent])
    entry_point = factories.make_entry_point(display_name="@acmeshoes")
    factories.make_instagram_account(entry_point)
    conversation = _conversation_with_pictures(inbox, entry_point)

    page = agent_page(browser, live_server.url, agent.email, height=700)

    def slow_media(route):
        time.sleep(0.4)  # pictures arrive after the page has scrolled
        route.continue_()

    page.route(re.compile(r".*/media/.*"), slow_media)
    page.goto(f"{live_server.url}/inbox/c/{conversation.pk}/")
    page.wait_for_load_state("networkidle")
    page.wait_for_function("() => [...document.querySelectorAll('#timeline img')].every(i => i.complete)")
    page.wait_for_timeout(300)
    assert _at_end(page), "the newest message is hidden below the fold"
    expect(page.locator(".msg", has_text="The newest message")).to_be_in_viewport()
    shot(page, "08-timeline-newest-in-view")

    # Scrolled up to read; a message arrives live: not yanked down, but told.
    page.evaluate("() => { document.getElementById('timeline').scrollTop = 0; }")
    page.wait_for_timeout(200)
    factories.make_item(conversation, text="Are you there?", occurred_at=timezone.now())
    Conversation.touch(conversation.pk)
    pill = page.get_by_test_id("new-message-pill")
    expect(pill).to_be_visible()
    shot(page, "08-new-message-pill")
    pill.click()
    expect(page.locator(".msg", has_text="Are you there?")).to_be_in_viewport()
    expect(pill).to_be_hidden()


def test_rows_closed_conversation_and_composer_after_a_note(live_server, browser):
    from playwright.sync_api import expect

    agent = factories.make_user(email="ada@example.test", password=PASSWORD)
    inbox = factories.make_inbox(name="Instagram", default=True, members=[agent])
    entry_point = factories.make_entry_point(display_name="@acmeshoes")
    factories.make_instagram_account(entry_point)
    conversations = []
    for username in ("maya.lopez", "mayalopez_shop"):
        customer = factories.make_customer(entry_point, name="Maya Lopez", username=username)
        conversation = factories.make_conversation(
            inbox=inbox,
            entry_point=entry_point,
            customer=customer,
            assignee=agent,
            last_customer_message_at=timezone.now(),
            sla_due_at=timezone.now() + timezone.timedelta(minutes=10),
        )
        factories.make_item(conversation, text="Can I reserve the red shoes?")
        conversations.append(conversation)

    page = agent_page(browser, live_server.url, agent.email)
    # 9: both rows show the whole name and who it is.
    for conversation, username in zip(conversations, ("maya.lopez", "mayalopez_shop"), strict=True):
        row = page.locator(f".conv-row[data-conversation='{conversation.pk}']")
        expect(row).to_contain_text(f"@{username}")
        truncated = row.locator(".conv-name").evaluate("n => n.scrollWidth > n.clientWidth")
        assert not truncated
    shot(page, "09-rows")

    # 13: after a note, Enter sends a reply.
    first = conversations[0]
    page.goto(f"{live_server.url}/inbox/c/{first.pk}/")
    page.locator("label.composer-tab", has_text="Note").click()
    page.get_by_test_id("composer-text").fill("Checked the warehouse")
    page.get_by_test_id("composer-text").press("Enter")
    expect(page.locator(".msg.kind-note")).to_contain_text("Checked the warehouse")
    expect(page.get_by_test_id("mode-reply")).to_be_checked()
    page.get_by_test_id("composer-text").fill("They are in stock")
    page.get_by_test_id("composer-text").press("Enter")
    expect(page.locator(".msg.kind-agent_message")).to_contain_text("They are in stock")
    shot(page, "13-after-note-reply")

    # 12: closed: the composer says so; Enter sends and reopens.
    page.get_by_test_id("close").click()
    expect(page.get_by_test_id("conversation-status")).to_have_text("Closed")
    expect(page.get_by_test_id("window-notice")).to_contain_text("This conversation is closed.")
    expect(page.get_by_test_id("composer-reopen")).to_be_visible()
    shot(page, "12-closed-composer")
    page.get_by_test_id("composer-text").fill("One more thing")
    page.get_by_test_id("composer-text").press("Enter")
    expect(page.locator(".msg.kind-agent_message", has_text="One more thing")).to_be_visible()
    expect(page.get_by_test_id("conversation-status")).to_have_text("Open")
    first.refresh_from_db()
    assert first.status == Conversation.Status.OPEN
    assert TimelineItem.objects.filter(conversation=first, text="One more thing").exists()

    # 11: search reaches closed conversations, each row with its status.
    page.get_by_test_id("close").click()
    expect(page.get_by_test_id("conversation-status")).to_have_text("Closed")
    page.goto(f"{live_server.url}/inbox/?q=reserve")
    expect(page.get_by_test_id(f"row-status-{first.pk}")).to_have_text("Closed")
    shot(page, "11-search-all-statuses")
