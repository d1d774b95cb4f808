"""The visitor's chat journey, by keyboard, in Firefox and in WebKit (Safari's engine).

Chromium is covered by test_chat_journey.py through Playwright, whose own Firefox and
WebKit builds can't be installed here. Each engine is driven through what Debian ships:
Firefox ESR through its Marionette protocol (Mozilla's marionette_driver, the protocol
geckodriver speaks), and WebKitGTK through its WebKitWebDriver (Selenium), on a virtual X
display because WebKitGTK has no headless mode. Elements live in the widget's Shadow DOM,
so the test reads them with JavaScript and types with WebDriver key actions, as a
keyboard would.
"""

import os
import subprocess

import pytest

from conversations import outbound
from conversations.models import TimelineItem
from tests import factories
from tests.conftest import REQUIRE_SERVICES, stop_process, wait_for
from tests.e2e.test_chat_journey import acme_chat, app_server, company_site  # noqa: F401 (fixtures: the app under ASGI, another origin)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

TIMEOUT = 20  # seconds: generous for a browser starting on a loaded two-core machine
INSTALL_HINT = "apt-get install -y firefox-esr webkit2gtk-driver xvfb"

# WebDriver's code points for the keys the visitor presses.
TAB, ENTER, ESCAPE = "\ue004", "\ue007", "\ue00c"


def require(*paths):
    """Skip without the engine (or, with REQUIRE_SERVICES=1, as in CI, fail)."""
    missing = [path for path in paths if not os.path.exists(path)]
    if missing:
        message = f"needs {', '.join(missing)} ({INSTALL_HINT})"
        if REQUIRE_SERVICES:
            pytest.fail(message)
        pytest.skip(message)


class Firefox:
    """Firefox ESR, headless, driven over Marionette."""

    binary = "/usr/bin/firefox-esr"

    def __init__(self, workdir):
        self.workdir = workdir
        self.process = None
        self.marionette = None

    def start(self):
        from marionette_driver.marionette import Marionette

        profile = self.workdir / "profile"
        profile.mkdir()
        # Port 0: Firefox takes a free port and writes it to MarionetteActivePort in the profile.
        (profile / "user.js").write_text('user_pref("marionette.port", 0);\n')
        with (self.workdir / "firefox.log").open("w") as log:
            self.process = subprocess.Popen(
                [self.binary, "--headless", "--marionette", "--no-remote", "-profile", str(profile)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        port_file = profile / "MarionetteActivePort"
        port = wait_for(
            lambda: port_file.exists() and port_file.read_text().strip(), timeout=TIMEOUT, message="Marionette's port"
        )
        self.marionette = Marionette(host="127.0.0.1", port=int(port), startup_timeout=TIMEOUT)
        self.marionette.start_session()
        return f"Firefox {self.marionette.session_capabilities['browserVersion']}"

    def goto(self, url):
        self.marionette.navigate(url)

    def run(self, script):
        return self.marionette.execute_script(script)

    def press(self, keys):
        self.marionette.actions.sequence("key", "keyboard").send_keys(keys).perform()

    def stop(self):
        if self.marionette is not None and self.marionette.session is not None:
            self.marionette.delete_session()
        if self.process is not None:
            stop_process(self.process)


class WebKit:
    """WebKitGTK's MiniBrowser through WebKitWebDriver, drawing on a private Xvfb display."""

    driver_binary = "/usr/bin/WebKitWebDriver"
    display_binary = "/usr/bin/Xvfb"

    def __init__(self, workdir):
        self.workdir = workdir
        self.display = None
        self.driver = None

    def start(self):
        from selenium import webdriver
        from selenium.webdriver.webkitgtk.options import Options
        from selenium.webdriver.webkitgtk.service import Service

        # -displayfd: Xvfb picks a free display number and writes it to the pipe once it is ready.
        read_end, write_end = os.pipe()
        self.display = subprocess.Popen(
            [self.display_binary, "-displayfd", str(write_end), "-nolisten", "tcp", "-screen", "0", "1280x800x24"],
            pass_fds=(write_end,),
            stderr=subprocess.DEVNULL,
        )
        os.close(write_end)
        with os.fdopen(read_end) as pipe:
            number = pipe.readline().strip()
        assert number, "Xvfb did not start"
        service = Service(
            executable_path=self.driver_binary,
            env={**os.environ, "DISPLAY": f":{number}"},
            log_output=str(self.workdir / "webkitwebdriver.log"),
        )
        self.driver = webdriver.WebKitGTK(service=service, options=Options())
        return f"WebKitGTK {self.driver.capabilities['browserVersion']}"

    def goto(self, url):
        self.driver.get(url)

    def run(self, script):
        return self.driver.execute_script(script)

    def press(self, keys):
        from selenium.webdriver.common.action_chains import ActionChains

        ActionChains(self.driver).send_keys(keys).perform()

    def stop(self):
        if self.driver is not None:
            self.driver.quit()
        if self.display is not None:
            stop_process(self.display)


@pytest.fixture(params=["firefox", "webkit"])
def engine(request, tmp_path_factory):
    if request.param == "firefox":
        require(Firefox.binary)
        browser = Firefox(tmp_path_factory.mktemp("firefox"))
    else:
        require(WebKit.driver_binary, WebKit.display_binary)
        browser = WebKit(tmp_path_factory.mktemp("webkit"))
    try:
        browser.version = browser.start()
        yield browser
    finally:
        browser.stop()


# What a keyboard and screen-reader user has of the widget: what is shown, what has focus
# (by its accessible name) and whether it shows a focus ring, what the launcher and dialog
# announce, and the messages.
WIDGET_STATE = """
const host = document.querySelector('[data-support-chat]');
if (!host) { return null; }
const shadow = host.shadowRoot;
const launcher = shadow.querySelector('.launcher');
const dialog = shadow.querySelector('[role=dialog]');
const focused = document.activeElement === host ? shadow.activeElement : null;
const mine = shadow.querySelectorAll('.meta.mine');
const last = mine[mine.length - 1];
return {
  launcher_shown: !launcher.hidden && launcher.getBoundingClientRect().width > 0,
  launcher_name: launcher.getAttribute('aria-label'),
  expanded: launcher.getAttribute('aria-expanded'),
  dialog_open: !dialog.hidden,
  dialog_name: shadow.getElementById(dialog.getAttribute('aria-labelledby')).textContent,
  focused: focused ? focused.getAttribute('aria-label') : null,
  focus_ring: !!focused && getComputedStyle(focused).outlineStyle !== 'none',
  last_sent: last ? {status: last.textContent, item_id: last.dataset.itemId || null} : null,
  agent_messages: Array.from(shadow.querySelectorAll('.msg.agent'), (node) => node.textContent),
};
"""


def wait_for_widget(browser, check, what):
    """Poll the widget until check(state) holds, and return that state."""
    seen = {}

    def satisfied():
        seen["state"] = browser.run(WIDGET_STATE)
        return seen["state"] if seen["state"] and check(seen["state"]) else None

    try:
        return wait_for(satisfied, timeout=TIMEOUT, message=what)
    except AssertionError:
        raise AssertionError(f"{browser.version}: timed out waiting for {what}; the widget showed {seen}") from None


def test_a_visitor_chats_by_keyboard(engine, app_server, company_site):  # noqa: F811 (the fixtures imported above)
    _, site_url = company_site
    agent = factories.make_user(email="ben@example.test", first_name="Ben")
    entry_point = acme_chat(app_server, company_site, agent).entry_point

    # The launcher shows once the server accepted the site; Tab reaches it, Enter opens the chat.
    engine.goto(site_url)
    wait_for_widget(engine, lambda state: state["launcher_shown"], "the launcher")
    engine.press(TAB)
    tabbed = wait_for_widget(engine, lambda state: state["focused"] == "Open chat", "focus on the launcher")
    assert tabbed["focus_ring"], "a keyboard user sees where the focus is"
    engine.press(ENTER)
    opened = wait_for_widget(engine, lambda state: state["dialog_open"] and state["focused"] == "Message", "the panel")
    assert opened["expanded"] == "true"
    assert opened["dialog_name"] == "Acme Support"

    # Enter sends; the server's acknowledgement marks it sent.
    engine.press("Do you ship to Spain?")
    engine.press(ENTER)
    sent = wait_for_widget(
        engine, lambda state: (state["last_sent"] or {}).get("status") == "Sent", "the message marked sent"
    )
    stored = TimelineItem.objects.get(pk=sent["last_sent"]["item_id"])
    assert stored.kind == TimelineItem.Kind.CUSTOMER_MESSAGE
    assert stored.text == "Do you ship to Spain?"
    assert stored.entry_point_id == entry_point.pk

    # The agent's reply (as the composer sends it) appears live.
    outbound.send_reply(stored.conversation, agent, "Yes, we ship to Spain in 3–5 days.")
    wait_for_widget(
        engine, lambda state: state["agent_messages"] == ["Yes, we ship to Spain in 3–5 days."], "the agent's reply"
    )

    # Escape closes the chat and gives focus back to the launcher.
    engine.press(ESCAPE)
    closed = wait_for_widget(
        engine, lambda state: not state["dialog_open"] and state["focused"] == "Open chat", "focus back on the launcher"
    )
    assert closed["expanded"] == "false"
    assert closed["focus_ring"]

    # A reply while the chat is closed is announced in the launcher's name (the badge is only seen).
    outbound.send_reply(stored.conversation, agent, "Anything else?")
    wait_for_widget(
        engine, lambda state: state["launcher_name"] == "Open chat, 1 new message", "the launcher naming the new reply"
    )
    # Coming back to the tab with the chat closed reads nothing: the count stays until it is opened.
    engine.run("document.dispatchEvent(new Event('visibilitychange'));")
    state = wait_for_widget(engine, lambda state: True, "the widget after a tab switch")
    assert state["launcher_name"] == "Open chat, 1 new message"
