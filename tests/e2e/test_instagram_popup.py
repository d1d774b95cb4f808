"""Add Instagram Messaging when the browser blocks the Facebook Login popup."""

import os

import pytest

from tests.conftest import totp_code_for
from tests.e2e.browsers import launch_chromium

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_blocked_popup_is_explained_and_the_same_flow_offered_in_the_tab(live_server, admin_user):
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page()
        page.add_init_script("window.open = () => null")  # what a popup blocker does
        page.goto(f"{live_server.url}/accounts/login/?next=/settings/meta/instagramaccount/")
        page.fill("input[name=login]", admin_user.email)
        page.fill("input[name=password]", "pw-for-tests-123")
        page.click("button[type=submit]")
        page.fill("input[name=code]", totp_code_for(admin_user))
        page.click("button[type=submit]")
        page.wait_for_url("**/instagramaccount/")
        page.wait_for_load_state("load")  # the popup script is deferred; before it runs the link opens in the tab

        page.click("#add-instagram")

        blocked = page.locator("#popup-blocked")
        expect(blocked).to_be_visible()
        expect(blocked).to_contain_text("blocked the Facebook Login window")
        link = blocked.get_by_role("link", name="Continue in this tab")
        assert link.get_attribute("href") == "/settings/meta/instagramaccount/add/start/"
        browser.close()
