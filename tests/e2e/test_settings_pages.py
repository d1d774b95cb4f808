"""Every Settings page in Chromium as an admin: a screenshot each, no console error, no failed request,
and no serious or critical accessibility violation (axe-core)."""

import os
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
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


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


@pytest.fixture
def browser():
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield browser
        browser.close()


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
    context = browser.new_context(viewport={"width": 1280, "height": 860})
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
    axe_context = browser.new_context(
        viewport={"width": 1280, "height": 860}, bypass_csp=True, storage_state=context.storage_state()
    )
    axe_page = axe_context.new_page()
    violations = {}
    for url in urls:
        page.goto(f"{live_server.url}{url}")
        page.screenshot(path=SCREENSHOTS / f"{screenshot_name(url)}.png", full_page=True)
        assert "/accounts/" not in page.url, f"{url} sent the admin to {page.url}"
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
    context.close()
    axe_context.close()

    assert problems == []
    assert violations == {}, "\n".join(f"{url}: {found}" for url, found in violations.items())
