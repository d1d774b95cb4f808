"""Settings › Email addresses in Chromium: remove an address (asked first), see it marked, add it again."""

from pathlib import Path

import pytest

from channels_app.models import Channel
from inbox.demo import seed_demo
from inbox.models import User
from tests.mail.helpers import make_email_address

from .test_sandbox_journey import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots" / "email"


def test_an_admin_removes_an_address_and_adds_it_again(live_server, browser):  # noqa: F811
    from playwright.sync_api import expect

    expect.set_options(timeout=20_000)
    for kind in Channel.Kind.values:  # an earlier transactional test may have emptied the table
        Channel.objects.get_or_create(kind=kind)
    seed_demo()
    address = make_email_address("returns@shop.test", display_name="Shop Returns")
    SHOTS.mkdir(parents=True, exist_ok=True)
    change_path = f"/settings/mail/emailaddress/{address.pk}/change/"
    admin = sign_in(
        browser,
        live_server.url,
        "admin@demo.test",
        "demo-admin-password",
        change_path,
        totp_user=User.objects.get(email="admin@demo.test"),
    )

    admin.get_by_test_id("remove-address").click()
    expect(admin.get_by_text("will stop receiving and sending mail")).to_be_visible()
    admin.screenshot(path=str(SHOTS / "remove-address.png"), full_page=True)
    admin.get_by_test_id("confirm-remove").click()

    expect(admin.locator(".messagelist")).to_contain_text("Removed returns@shop.test.")
    row = admin.locator("#result_list tr", has_text="returns@shop.test")
    expect(row).to_contain_text("Removed")
    row.get_by_role("link", name="returns@shop.test").click()
    expect(admin.get_by_test_id("address-removed")).to_be_visible()
    admin.screenshot(path=str(SHOTS / "removed-address.png"), full_page=True)

    admin.get_by_test_id("add-again").click()
    expect(admin.locator(".messagelist")).to_contain_text("Added returns@shop.test again")
    expect(admin.get_by_test_id("remove-address")).to_be_visible()
    address.refresh_from_db()
    assert not address.removed
    assert address.entry_point.active
