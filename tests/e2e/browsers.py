"""Debian's Chromium for the browser tests (Playwright cannot download its own browsers here)."""

import os

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def launch_chromium(playwright):
    return playwright.chromium.launch(
        executable_path=CHROMIUM if os.path.exists(CHROMIUM) else None, args=CHROMIUM_ARGS
    )


@pytest.fixture
def browser():
    """Headless Chromium for one test. The live server's views run in its threads: Django must allow
    database calls from them while Playwright's loop runs in this one."""
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser
        browser.close()
