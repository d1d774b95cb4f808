"""Every Settings page in Chromium as an admin: a screenshot each on a laptop (1280 px) and on a tablet
(820×1180 portrait, 1024×768 landscape), no console error, no failed request, no sideways page scroll, and
no serious or critical accessibility violation (axe-core). Then the calendar of holidays and the rows of a
rule, driven with the mouse and the keyboard."""

import re
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
from django.test import RequestFactory

from inbox.demo import current_totp_code
from tests.e2e.settings_demo import seed_settings_demo, settings_pages

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "var" / "screenshots" / "settings"
AXE_VERSION = "4.10.3"
AXE_CACHE = ROOT / "var" / f"axe-core-{AXE_VERSION}" / "axe.min.js"
LAPTOP = {"width": 1280, "height": 860}
TABLETS = [{"width": 820, "height": 1180}, {"width": 1024, "height": 768}]


def axe_script() -> Path:
    """axe-core from the npm registry (pinned), downloaded once into var/."""
    if not AXE_CACHE.exists():
        AXE_CACHE.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["npm", "pack", f"axe-core@{AXE_VERSION}", "--silent", "--pack-destination", str(AXE_CACHE.parent)],
            check=True,
            capture_output=True,
            timeout=120,
        )
        archive = AXE_CACHE.parent / f"axe-core-{AXE_VERSION}.tgz"
        with tarfile.open(archive) as tar, tar.extractfile("package/axe.min.js") as source:
            AXE_CACHE.write_bytes(source.read())
        archive.unlink()
    return AXE_CACHE


def screenshot_name(url: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", url.removeprefix("/settings/").lower()).strip("-") or "home"


def sign_in(page, base_url, admin):
    page.goto(f"{base_url}/accounts/login/?next=/settings/")
    page.fill("input[name=login]", admin.email)
    page.fill("input[name=password]", "demo-admin-password")
    page.click("button[type=submit]")
    page.fill("input[name=code]", current_totp_code(admin))
    page.click("button[type=submit]")
    page.wait_for_url("**/settings/")


def test_every_settings_page_renders_cleanly_and_passes_axe(live_server, browser):
    from django.contrib import admin as django_admin

    admin = seed_settings_demo()
    request = RequestFactory().get("/settings/")
    request.user = admin
    urls = settings_pages(django_admin.site, request)
    assert len(urls) > 20
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True)

    # The page as the CSP serves it: an inline script or style would show as a console error here.
    context = browser.new_context(viewport=LAPTOP)
    page = context.new_page()
    problems = []
    page.on(
        "console",
        lambda message: (
            message.type == "error" and problems.append(f"{page.url}: {message.text} {message.location['url']}")
        ),
    )
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("requestfailed", lambda req: problems.append(f"request failed: {req.url} {req.failure}"))
    page.on(
        "response", lambda response: response.status >= 400 and problems.append(f"{response.status}: {response.url}")
    )
    sign_in(page, live_server.url, admin)
    # axe is injected as a script tag, which the CSP would refuse; this second context bypasses the CSP for it alone.
    axe_context = browser.new_context(viewport=LAPTOP, bypass_csp=True, storage_state=context.storage_state())
    axe_page = axe_context.new_page()
    violations, too_wide = {}, []
    for url in urls:
        page.goto(f"{live_server.url}{url}")
        page.screenshot(path=SCREENSHOTS / f"{screenshot_name(url)}.png", full_page=True)
        assert "/accounts/" not in page.url, f"{url} sent the admin to {page.url}"
        too_wide += sideways_scroll(page, url)
        if url.endswith("/meta/instagramaccount/"):
            # The columns the issue names, all on a laptop's screen.
            for column in (
                "page_name",
                "username",
                "page_id",
                "added_by",
                "added_on_date",
                "inbox",
                "status_badge",
                "send_budget",
            ):
                assert page.locator(f"#result_list th.column-{column}").is_visible(), column
        axe_page.goto(f"{live_server.url}{url}")
        axe_page.add_script_tag(path=str(axe_script()))
        result = axe_page.evaluate("axe.run(document, {resultTypes: ['violations']})")
        serious = [
            f"{violation['id']} ({violation['impact']}): {[node['target'] for node in violation['nodes']][:3]}"
            for violation in result["violations"]
            if violation["impact"] in ("serious", "critical")
        ]
        if serious:
            violations[url] = serious
    # A tablet: the navigation folds into the Menu, lists keep to their card.
    for viewport in TABLETS:
        page.set_viewport_size(viewport)
        size = f"{viewport['width']}x{viewport['height']}"
        for url in urls:
            # Settled before the next page: leaving one with a request in flight (a poll) would count as failed.
            page.goto(f"{live_server.url}{url}", wait_until="networkidle")
            page.screenshot(path=SCREENSHOTS / f"{screenshot_name(url)}-{size}.png", full_page=True)
            too_wide += sideways_scroll(page, url, lists=False)
        page.goto(f"{live_server.url}/settings/")
        assert page.locator("#settings-nav").is_hidden()
        page.get_by_role("button", name="Menu").click()
        page.screenshot(path=SCREENSHOTS / f"menu-open-{size}.png")
        page.locator("#settings-nav").get_by_role("link", name="Rules").click()
        page.wait_for_url("**/settings/conversations/rule/")
    context.close()
    axe_context.close()

    assert problems == []
    assert too_wide == []
    assert violations == {}, "\n".join(f"{url}: {found}" for url, found in violations.items())


def sideways_scroll(page, url, lists=True) -> list[str]:
    """The page scrolls sideways (at any width), or a list scrolls sideways inside its card on a laptop."""
    found = []
    page_width, view_width = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    if page_width > view_width:
        found.append(f"{url} at {page.viewport_size['width']} px: the page is {page_width} px wide")
    results = page.locator("#changelist .results")
    if lists and results.count():
        inner, outer = results.evaluate("element => [element.scrollWidth, element.clientWidth]")
        if inner > outer:
            found.append(f"{url}: the list is {inner} px wide in a {outer} px card")
    return found


def test_holiday_calendar_and_rule_rows_work_with_the_mouse_and_the_keyboard(live_server, browser):
    from conversations.models import BusinessHours, Rule

    admin = seed_settings_demo()
    hours = BusinessHours.objects.get(name="Office hours")
    context = browser.new_context(viewport=LAPTOP)
    page = context.new_page()
    errors = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, live_server.url, admin)

    # Holidays: Christmas is marked; a click adds 14 July 2027, the keyboard adds the 15th and removes Christmas.
    page.goto(f"{live_server.url}/settings/conversations/businesshours/{hours.pk}/change/?holidays_year=2026")
    christmas = page.locator("button.holiday-day[data-date='2026-12-25']")
    assert christmas.get_attribute("aria-pressed") == "true"
    christmas.focus()
    page.keyboard.press("Enter")
    assert christmas.get_attribute("aria-pressed") == "false"
    page.get_by_role("button", name="Show 2027").click()
    page.locator("button.holiday-day[data-date='2027-07-14']").click()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Space")
    assert page.locator("button.holiday-day[data-date='2027-07-15']").get_attribute("aria-pressed") == "true"
    assert "is a holiday" in page.locator("[data-holiday-status]").text_content()
    name_of = {
        row.locator("input[name$='-date']").input_value(): row.locator("input[name$='-name']")
        for row in page.locator("#holidays-group tbody tr.form-row:not(.empty-form)").all()
    }
    name_of["2027-07-14"].fill("Bastille Day")
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url("**/conversations/businesshours/")
    assert {(h.date.isoformat(), h.name) for h in hours.holidays.all()} == {
        ("2027-07-14", "Bastille Day"),
        ("2027-07-15", ""),
    }

    # Rules: a condition chosen from the select offers only its operators; rows added and removed.
    page.goto(f"{live_server.url}/settings/conversations/rule/add/")
    page.fill("input[name=name]", "Angry customers")
    page.get_by_label("Condition 1", exact=True).select_option("text")
    assert page.get_by_label("Condition 1: how it is checked").input_value() == "contains"
    page.get_by_label("Condition 1: words, separated by commas").fill("angry, furious")
    page.get_by_role("button", name="+ Add a condition").click()
    page.get_by_label("Condition 2", exact=True).select_option("channel")
    page.get_by_role("button", name="Remove Condition 2").click()
    page.get_by_role("button", name="+ Add a condition").click()
    page.get_by_label("Condition 3", exact=True).select_option("customer")
    page.get_by_label("Action 1", exact=True).select_option("note")
    page.get_by_label("Action 1: text").fill("Handle with care.")
    page.get_by_role("button", name="+ Add an action").click()
    page.get_by_label("Action 2", exact=True).select_option("close")
    page.evaluate("window.scrollTo(0, 0)")  # a full-page shot of a scrolled page repeats the sticky top bar
    page.screenshot(path=SCREENSHOTS / "rule-rows-filled.png", full_page=True)
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url("**/conversations/rule/")
    rule = Rule.objects.get(name="Angry customers")
    assert (rule.words, rule.customer_is_new, rule.channel, rule.note_text, rule.close) == (
        "angry, furious",
        True,
        None,
        "Handle with care.",
        True,
    )
    assert "if the text contains “angry” or “furious” and the customer is new" in page.content()
    context.close()
    assert errors == []
