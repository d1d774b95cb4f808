"""The agents' workspace in Chromium: the customer pane, answers, topics and the keyboard."""

import re
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from channels_app.models import Channel, EntryPoint
from conversations.models import Conversation, Customer, CustomerAttribute
from tests import factories
from tests.e2e.test_chat_journey import app_server  # noqa: F401 (fixture: the app under ASGI, sockets and all)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-for-tests-123"
SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screens"


def sign_in(browser, live_server, email):
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.set_default_timeout(5000)
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/inbox/.*"))
    return page


def screenshot(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


@pytest.fixture
def maya_twice():
    """Maya writes on Instagram; a customer who is Maya too wrote by email last week."""
    agent = factories.make_user(email="ada@example.test", password=PASSWORD, first_name="Ada")
    inbox = factories.make_inbox(name="Social", members=[agent])
    mail_inbox = factories.make_inbox(name="Email", kind=Channel.Kind.EMAIL, members=[agent])
    instagram = factories.make_entry_point(display_name="@acmeshoes")
    mailbox = factories.make_entry_point(
        kind=EntryPoint.Kind.EMAIL_ADDRESS, channel_kind=Channel.Kind.EMAIL, display_name="help@acme.test"
    )
    visitor = factories.make_customer(
        instagram, external_id="IGSID1", name="", username="maya.l", emails=["maya@x.test"]
    )
    conversation = factories.make_conversation(
        inbox=inbox, entry_point=instagram, customer=visitor, last_customer_message_at=timezone.now()
    )
    factories.make_item(conversation, text="Did my refund go through?")
    maya = factories.make_customer(mailbox, external_id="maya@x.test", name="Maya Lopez")
    old = factories.make_conversation(
        inbox=mail_inbox,
        entry_point=mailbox,
        customer=maya,
        status=Conversation.Status.CLOSED,
        closed_at=timezone.now(),
        opened_at=timezone.now() - timezone.timedelta(days=6),
        last_activity_at=timezone.now() - timezone.timedelta(days=6),
    )
    factories.make_item(
        old,
        text="Please refund order 1042",
        metadata={"subject": "Refund"},
        occurred_at=timezone.now() - timezone.timedelta(days=6),
    )
    CustomerAttribute.objects.create(key="plan", label="Plan")
    return agent, conversation, maya


def test_agent_merges_a_suggested_customer_edits_details_and_undoes(browser, live_server, maya_twice):
    from playwright.sync_api import expect

    agent, conversation, maya = maya_twice
    page = sign_in(browser, live_server, agent.email)
    page.goto(f"{live_server.url}/inbox/c/{conversation.pk}/")

    card = page.get_by_test_id("customer-card")
    suggestion = page.get_by_test_id("merge-suggestion")
    expect(suggestion).to_contain_text("maya@x.test")
    expect(suggestion).to_contain_text("Maya Lopez")
    expect(card.get_by_test_id("activity-item")).to_have_count(1)
    screenshot(page, "workspace-suggestion")

    page.get_by_test_id("merge-suggested").click()
    expect(page.locator(".conv-head h1")).to_have_text("Maya Lopez")
    expect(page.get_by_test_id("identities").locator("li")).to_have_count(2)
    expect(page.get_by_test_id("activity-item")).to_have_count(2)
    expect(page.get_by_test_id("activity-item").first).to_contain_text("Did my refund go through?")
    expect(page.get_by_test_id("activity-item").last).to_contain_text("Refund")
    expect(page.locator(".event").last).to_contain_text("Ada merged")
    screenshot(page, "workspace-merged")

    page.get_by_test_id("edit-customer").click()
    page.get_by_test_id("customer-phones").fill("+1 415 555 0100")
    page.get_by_test_id("attr-plan").fill("Pro")
    page.get_by_test_id("customer-notes").fill("Always polite; prefers email.")
    screenshot(page, "workspace-edit")
    page.get_by_test_id("save-customer").click()
    expect(page.get_by_test_id("customer-details")).to_contain_text("+14155550100")
    expect(page.get_by_test_id("customer-details")).to_contain_text("Pro")
    expect(page.get_by_test_id("customer-notes-shown")).to_contain_text("prefers email")

    page.get_by_test_id("undo-merge").locator("button").click()
    expect(page.get_by_test_id("identities").locator("li")).to_have_count(1)
    expect(page.get_by_test_id("merge-suggestion")).to_contain_text("Maya Lopez")
    assert Customer.objects.get(pk=maya.pk).conversations.count() == 1


@pytest.fixture
def busy_inbox():
    """Ada's inbox with three open conversations, an Answer and two Topics."""
    from conversations.models import Answer, Topic

    agent = factories.make_user(email="ada@example.test", password=PASSWORD, first_name="Ada", last_name="Lovelace")
    inbox = factories.make_inbox(name="Social", members=[agent])
    entry_point = factories.make_entry_point(display_name="@acmeshoes")
    factories.make_instagram_account(entry_point)
    conversations = []
    for name, text in [("Maya Lopez", "Where is my refund?"), ("Ben Ito", "Size 42?"), ("Cleo Park", "Hello")]:
        customer = factories.make_customer(entry_point, name=name)
        conversation = factories.make_conversation(
            inbox=inbox, entry_point=entry_point, customer=customer, last_customer_message_at=timezone.now()
        )
        factories.make_item(conversation, text=text)
        conversations.append(conversation)
    Answer.objects.create(
        title="Refund timing",
        body="Hi {{customer.first_name}}, refunds reach your card in 5 days. {{agent.first_name}}",
    )
    Answer.objects.create(title="Size guide", body="Our size guide: acme.test/sizes")
    Topic.objects.create(name="Refund", color="amber")
    Topic.objects.create(name="Sizing", color="blue")
    return agent, conversations


def test_agent_inserts_an_answer_with_the_keyboard_and_sends_it(browser, live_server, busy_inbox):
    from playwright.sync_api import expect

    from conversations.models import Answer

    agent, (maya, *_) = busy_inbox
    page = sign_in(browser, live_server, agent.email)
    page.goto(f"{live_server.url}/inbox/c/{maya.pk}/")

    text = page.get_by_test_id("composer-text")
    text.click()
    text.type("/ref")
    expect(page.get_by_test_id("answer-option")).to_have_count(1)
    expect(page.get_by_test_id("answer-option").first).to_contain_text("Hi Maya, refunds reach your card")
    screenshot(page, "workspace-answer-picker")
    text.press("Enter")
    expect(text).to_have_value("Hi Maya, refunds reach your card in 5 days. Ada")
    expect(page.get_by_test_id("answer-picker")).to_be_hidden()
    text.press("Enter")
    expect(page.locator(".msg.kind-agent_message").last).to_contain_text("refunds reach your card")
    assert Answer.objects.get(title="Refund timing").usage_count == 1

    page.get_by_test_id("answers-link").click()
    page.get_by_test_id("answer-title").fill("Opening hours")
    page.get_by_test_id("answer-body").fill("Hi {{customer.first_name}}, we answer 9:00–18:00. {{agent.name}}")
    page.get_by_test_id("save-answer").click()
    expect(page.locator(".answer-card")).to_have_count(3)
    expect(page.locator(".answer-card").filter(has_text="Refund timing")).to_contain_text("used 1 time")
    screenshot(page, "workspace-answers-page")


def test_agent_tags_snoozes_and_works_in_bulk(browser, live_server, busy_inbox):
    from playwright.sync_api import expect

    agent, (maya, ben, cleo) = busy_inbox
    page = sign_in(browser, live_server, agent.email)
    page.goto(f"{live_server.url}/inbox/c/{maya.pk}/")

    page.get_by_test_id("add-topic").select_option(label="Refund")
    expect(page.get_by_test_id("topics")).to_contain_text("Refund")
    page.keyboard.press("Escape")
    page.locator("body").press("z")
    page.get_by_test_id("snooze-reply").click()
    expect(page.get_by_test_id("snoozed")).to_contain_text("until the customer writes")
    expect(page.get_by_test_id("activity-item")).to_have_count(1)
    screenshot(page, "workspace-topic-snooze")
    expect(page.locator(f".conv-row[data-conversation='{maya.pk}']")).to_have_count(0)

    page.goto(f"{live_server.url}/inbox/")
    page.locator(f".conv-row-wrap:has([data-conversation='{ben.pk}'])").hover()
    page.get_by_test_id(f"check-{ben.pk}").check()
    page.get_by_test_id(f"check-{cleo.pk}").check()
    expect(page.get_by_test_id("bulk-bar")).to_contain_text("2 selected")
    screenshot(page, "workspace-bulk")
    page.get_by_test_id("bulk-assignee").select_option("me")
    page.get_by_test_id("bulk-assign").click()
    expect(page.locator(".message.success")).to_contain_text("Done for 2 conversations")
    assert set(Conversation.objects.filter(assignee=agent).values_list("pk", flat=True)) == {ben.pk, cleo.pk}

    page.get_by_test_id("filter-topic").select_option(label="Refund")
    page.goto(f"{live_server.url}/inbox/?filter=snoozed&topic={Conversation.objects.get(pk=maya.pk).topics.get().pk}")
    expect(page.locator(".conv-row")).to_have_count(1)
    screenshot(page, "workspace-filtered")


def test_shortcut_sheet_lists_the_shortcuts(browser, live_server, busy_inbox):
    from playwright.sync_api import expect

    agent, (maya, *_) = busy_inbox
    page = sign_in(browser, live_server, agent.email)
    page.goto(f"{live_server.url}/inbox/c/{maya.pk}/")
    page.locator("body").press("Escape")

    page.keyboard.press("?")
    sheet = page.get_by_test_id("shortcut-sheet")
    expect(sheet).to_be_visible()
    expect(sheet).to_contain_text("Snooze")
    screenshot(page, "workspace-shortcuts")
    page.keyboard.press("Escape")
    expect(sheet).to_be_hidden()

    page.keyboard.press("a")
    expect(page.get_by_test_id("assignee")).to_have_value(str(agent.pk))
    expect(page.locator(".event").last).to_contain_text("took the conversation")
    # After an action the composer has the focus (inbox.js); Esc leaves it for the shortcuts.
    expect(page.get_by_test_id("composer-text")).to_be_focused()
    page.keyboard.press("Escape")
    page.keyboard.press("n")
    expect(page.get_by_test_id("mode-note")).to_be_checked()


def test_colleague_sees_who_is_typing_and_unread_conversations_notify(browser, live_server, busy_inbox):
    from playwright.sync_api import expect

    agent, (maya, ben_conversation, _) = busy_inbox
    colleague = factories.make_user(email="ben@example.test", password=PASSWORD, first_name="Ben")
    maya.inbox.memberships.create(user=colleague)
    Conversation.objects.filter(pk=maya.pk).update(assignee=agent)

    ada = sign_in(browser, live_server, agent.email)
    # The tab is in the background and the browser allows notifications: record what would show.
    ada.add_init_script(
        "document.hasFocus = function () { return false; };"
        "window.Notification = function (title, options) {"
        "  var shown = document.createElement('output'); shown.dataset.testid = 'notice';"
        "  shown.textContent = title + ': ' + options.body; document.body.appendChild(shown); };"
        "window.Notification.permission = 'granted';"
    )
    ada.goto(f"{live_server.url}/inbox/")
    expect(ada.get_by_test_id(f"unread-{maya.pk}")).to_be_visible()
    ada.goto(f"{live_server.url}/inbox/c/{maya.pk}/")
    expect(ada.get_by_test_id(f"unread-{maya.pk}")).to_have_count(0)

    ben = sign_in(browser, live_server, colleague.email)
    ben.goto(f"{live_server.url}/inbox/c/{maya.pk}/")
    expect(ben.get_by_test_id("presence")).to_contain_text("Ada is viewing")
    ben.get_by_test_id("composer-text").type("Let me check")
    expect(ada.get_by_test_id("presence")).to_contain_text("Ben is typing a reply", timeout=8000)
    screenshot(ada, "workspace-presence")

    factories.make_item(maya, text="Any news?")
    Conversation.touch(maya.pk)
    expect(ada.get_by_test_id("notice")).to_have_text("Maya Lopez wrote: Any news?", timeout=15000)


def test_with_the_socket_up_presence_and_notifications_come_by_push_not_by_polls(
    browser,
    app_server,  # noqa: F811 (the fixture imported above)
    busy_inbox,
):
    """As above, with the app under ASGI: the inbox socket is up, so the notifier and presence polls stay quiet."""
    from playwright.sync_api import expect

    agent, (maya, _, _) = busy_inbox
    colleague = factories.make_user(email="ben@example.test", password=PASSWORD, first_name="Ben")
    maya.inbox.memberships.create(user=colleague)
    Conversation.objects.filter(pk=maya.pk).update(assignee=agent)
    polls = []

    def record_polls(request):
        if "/inbox/notifications/" in request.url or "/presence/" in request.url:
            polls.append(request.url)

    ada = sign_in(browser, app_server, agent.email)
    ada.add_init_script(
        "document.hasFocus = function () { return false; };"
        "window.Notification = function (title, options) {"
        "  var shown = document.createElement('output'); shown.dataset.testid = 'notice';"
        "  shown.textContent = title + ': ' + options.body; document.body.appendChild(shown); };"
        "window.Notification.permission = 'granted';"
    )
    ada.goto(f"{app_server.url}/inbox/c/{maya.pk}/")
    expect(ada.locator("html[data-live=up]")).to_have_count(1)
    ada.on("request", record_polls)
    socket_up_since = time.monotonic()
    ben = sign_in(browser, app_server, colleague.email)
    ben.goto(f"{app_server.url}/inbox/c/{maya.pk}/")
    expect(ben.locator("html[data-live=up]")).to_have_count(1)
    ben.on("request", record_polls)

    expect(ben.get_by_test_id("presence")).to_contain_text("Ada is viewing")
    ben.get_by_test_id("composer-text").type("Let me check")
    expect(ada.get_by_test_id("presence")).to_contain_text("Ben is typing a reply")
    factories.make_item(maya, text="Any news?")
    Conversation.touch(maya.pk)
    expect(ada.get_by_test_id("notice")).to_have_text("Maya Lopez wrote: Any news?")
    expect(ada.locator("#timeline-items")).to_contain_text("Any news?")  # the pushed change, fetched once
    screenshot(ada, "workspace-presence-pushed")
    # Long enough for the notifier's 10 s timer and two of the presence form's 5 s timers.
    ada.wait_for_timeout(max(0, 11 - (time.monotonic() - socket_up_since)) * 1000)

    assert polls == []


def test_pushed_updates_bring_only_new_items_in_their_place_and_redraw_on_a_change(
    browser,
    app_server,  # noqa: F811 (the fixture imported above)
    busy_inbox,
):
    """With the socket up, a new message comes alone (#timeline-delta) and goes after the item it follows,
    one that committed late too; nothing is shown twice; a change to a shown item redraws the timeline."""
    from playwright.sync_api import expect

    from conversations.models import TimelineItem

    agent, (maya, ben, _) = busy_inbox
    answers = []
    ada = sign_in(browser, app_server, agent.email)
    ada.goto(f"{app_server.url}/inbox/c/{maya.pk}/")
    expect(ada.locator("html[data-live=up]")).to_have_count(1)
    ada.on("response", lambda response: answers.append(response) if "/inbox/changes/" in response.url else None)

    def shown_ids():
        return [
            int(pk)
            for pk in ada.eval_on_selector_all("#timeline-items [id^=item-]", "els => els.map(e => e.id.slice(5))")
        ]

    # Rows ticked for a bulk action stay ticked when a live update redraws them.
    ada.get_by_test_id(f"check-{maya.pk}").check()
    ada.get_by_test_id(f"check-{ben.pk}").check()
    first = factories.make_item(maya, text="Is it on its way?")
    Conversation.touch(maya.pk, items_changed=False)
    expect(ada.locator(f"#item-{first.pk}")).to_contain_text("Is it on its way?")
    expect(ada.locator(f"#row-{maya.pk}")).to_contain_text("Is it on its way?")  # the row's preview too
    expect(ada.get_by_test_id(f"check-{maya.pk}")).to_be_checked()
    expect(ada.get_by_test_id("bulk-bar")).to_contain_text("2 selected")
    ada.get_by_test_id(f"check-{maya.pk}").uncheck()
    ada.get_by_test_id(f"check-{ben.pk}").uncheck()
    assert any("timeline-delta" in answer.text() and "timeline-items" not in answer.text() for answer in answers)

    # Written before the next one but committed after it: its id is lower than one the page shows.
    late = factories.make_item(ben, text="Written first, committed last")
    newer = factories.make_item(maya, text="Committed first")
    Conversation.touch(maya.pk, items_changed=False)
    expect(ada.locator(f"#item-{newer.pk}")).to_be_visible()
    TimelineItem.objects.filter(pk=late.pk).update(conversation=maya, occurred_at=timezone.now())
    Conversation.touch(maya.pk, items_changed=False)
    expect(ada.locator(f"#item-{late.pk}")).to_contain_text("Written first, committed last")
    ids = shown_ids()
    assert ids[-3:] == [first.pk, newer.pk, late.pk] and len(ids) == len(set(ids))
    screenshot(ada, "workspace-pushed-items")
    ada.set_viewport_size({"width": 1280, "height": 800})
    notice = ada.get_by_test_id("window-notice").bounding_box()
    assert notice["width"] > 400, notice  # the reply window's notice is not squeezed beside the key hints
    # The top bar stays one row at a laptop's width, and no width scrolls the page sideways.
    assert ada.evaluate("document.querySelector('.topbar').offsetHeight") < 60
    for width in (1280, 1024, 820):
        ada.set_viewport_size({"width": width, "height": 800})
        assert ada.evaluate("document.documentElement.scrollWidth") <= width, width
    ada.set_viewport_size({"width": 1280, "height": 800})
    screenshot(ada, "workspace-1280")
    ada.set_viewport_size({"width": 1440, "height": 900})

    TimelineItem.objects.filter(pk=first.pk).update(deleted_by_customer=True)
    Conversation.touch(maya.pk)  # an item the page shows changed: the timeline is drawn again
    expect(ada.locator(f"#item-{first.pk}.deleted")).to_have_count(1)
    ids = shown_ids()
    assert ids[-3:] == [first.pk, newer.pk, late.pk] and len(ids) == len(set(ids))


def test_a_burst_of_pushed_changes_is_fetched_a_few_times_and_ends_with_the_last(
    browser,
    app_server,  # noqa: F811 (the fixture imported above)
    busy_inbox,
):
    """Twenty changes pushed within a moment: the page does not fetch once per note (fetches are one at a
    time, at least 250 ms apart), yet ends with every message."""
    from playwright.sync_api import expect

    agent, (maya, _, _) = busy_inbox
    ada = sign_in(browser, app_server, agent.email)
    ada.goto(f"{app_server.url}/inbox/c/{maya.pk}/")
    expect(ada.locator("html[data-live=up]")).to_have_count(1)
    # When each fetch started, on the page's own clock (Resource Timing): the times this test's process
    # hears of requests come in bunches when it is busy.
    since = ada.evaluate("performance.now()")

    started = time.monotonic()
    for number in range(20):
        factories.make_item(maya, text=f"Burst message {number}")
        Conversation.touch(maya.pk, items_changed=False)
    expect(ada.locator("#timeline-items")).to_contain_text("Burst message 19")
    took = time.monotonic() - started

    for number in range(20):
        expect(ada.locator("#timeline-items").get_by_text(f"Burst message {number}", exact=True)).to_have_count(1)
    fetches = ada.evaluate(
        "since => performance.getEntriesByType('resource')"
        ".filter(entry => entry.name.includes('/inbox/changes/') && entry.startTime >= since)"
        ".map(entry => entry.startTime)",
        since,
    )
    assert 1 <= len(fetches) <= took / 0.25 + 2, (len(fetches), took)
    gaps = [later - earlier for earlier, later in zip(fetches, fetches[1:], strict=False)]
    assert all(gap >= 200 for gap in gaps), gaps  # ms: FETCH_GAP (250) in static/inbox-live.js, less jitter


def test_agent_attaches_an_image_and_sees_the_channels_limits(browser, live_server, busy_inbox):
    from playwright.sync_api import expect

    from conversations.models import OutboundMessage

    png = (
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
        b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
    )
    agent, (maya, *_) = busy_inbox
    page = sign_in(browser, live_server, agent.email)
    page.goto(f"{live_server.url}/inbox/c/{maya.pk}/")

    expect(page.get_by_test_id("attachment-limits")).to_contain_text("Instagram: image up to 8 MB")
    page.get_by_test_id("attach-input").set_input_files(
        files=[{"name": "red-trainers.png", "mimeType": "image/png", "buffer": png}]
    )
    expect(page.locator("[data-chosen-files]")).to_contain_text("red-trainers.png")
    page.get_by_test_id("composer-text").fill("Here they are")
    screenshot(page, "workspace-attachment-chosen")
    page.get_by_test_id("send-reply").click()
    expect(page.locator(".msg.kind-agent_message img.media")).to_have_count(1)
    screenshot(page, "workspace-attachment-sent")
    assert OutboundMessage.objects.filter(kind="attachment").count() == 1


def test_search_finds_a_customer_by_email_with_the_match_marked(browser, live_server, busy_inbox):
    from playwright.sync_api import expect

    agent, (maya, *_) = busy_inbox
    Customer.objects.filter(pk=maya.customer_id).update(emails=["maya.lopez@example.com"])
    page = sign_in(browser, live_server, agent.email)

    page.get_by_role("searchbox", name="Search conversations").fill("lopez@example")
    page.keyboard.press("Enter")

    expect(page.locator(".conv-row")).to_have_count(1)
    expect(page.get_by_test_id(f"match-{maya.pk}").locator("mark")).to_have_text("lopez@example")
    screenshot(page, "workspace-search")


def test_a_search_with_more_matches_than_the_cap_says_it_shows_some(browser, live_server, busy_inbox, monkeypatch):
    from playwright.sync_api import expect

    from inbox import conversation_list

    monkeypatch.setattr(conversation_list, "SEARCH_CAP", 2)
    agent, _ = busy_inbox
    page = sign_in(browser, live_server, agent.email)

    page.get_by_role("searchbox", name="Search conversations").fill("e")
    page.keyboard.press("Enter")

    expect(page.get_by_test_id("search-capped")).to_contain_text("these are some of them")
    screenshot(page, "workspace-search-capped")


def test_the_demo_shows_one_customer_across_instagram_and_email(browser, live_server):
    from playwright.sync_api import expect

    from inbox.demo import seed_demo

    for kind in Channel.Kind.values:
        Channel.objects.get_or_create(kind=kind)
    seed_demo()
    jonas = Conversation.objects.get(customer__name="Jonas Berg", entry_point__kind="instagram")
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.set_default_timeout(5000)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", "ada@demo.test")
    page.fill("input[name=password]", "demo-agent-password")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/inbox/.*"))
    page.goto(f"{live_server.url}/inbox/c/{jonas.pk}/")

    expect(page.get_by_test_id("identities").locator("li")).to_have_count(2)
    expect(page.get_by_test_id("activity-item").filter(has_text="delivery address")).to_have_count(1)
    screenshot(page, "workspace-demo-jonas")
