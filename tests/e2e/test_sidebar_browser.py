"""The sidebar page in headless Chromium (Playwright, system Chromium), with a stand-in for the
ZAF client and Zendesk's proxy, against the real receiver and the Omneo sandbox process.

Asserts what an agent sees in each state and saves a screenshot of each under
test-artifacts/sidebar/.
"""
from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from tests.e2e.zaf_host import ZafHost

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
ZAF_SDK = "https://static.zdassets.com/zendesk_app_framework_sdk/2.0/zaf_sdk.min.js"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "sidebar"
SIDEBAR_WIDTH = 320

REQUESTER = {"id": 4242, "name": "Margaret Hamilton", "email": "margaret@example.com"}


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium package")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def zaf(stack):
    host = ZafHost({"service_url": stack.receiver,
                    "shared_secret": stack.env["ZENDESK_APP_SECRET"]}).start()
    yield host
    host.stop()


class Sidebar:
    """One sidebar iframe as an agent sees it."""

    def __init__(self, browser, zaf: ZafHost, requester: dict | None):
        self.zaf = zaf
        self.context = browser.new_context(viewport={"width": SIDEBAR_WIDTH, "height": 640},
                                           device_scale_factor=2)
        self.page = self.context.new_page()
        self.outside: list[str] = []
        self.page.route("**/*", self._route)
        # ZAF gives the page only the non-secure settings
        self.page.add_init_script(
            "window.__ZAF_FAKE__ = %s;" % __import__("json").dumps(
                {"requester": requester, "settings": {"service_url": zaf.settings["service_url"]}}))

    def _route(self, route):
        url = route.request.url
        if url == ZAF_SDK:
            return route.fulfill(status=200, content_type="text/javascript", body=self.zaf.fake_sdk)
        if urlsplit(url).hostname == "127.0.0.1":
            return route.continue_()
        self.outside.append(url)
        return route.abort()

    def open(self, wait_for: str | None = "found"):
        self.page.goto(self.zaf.url + "/assets/iframe.html")
        if wait_for:
            self.wait(wait_for)
        return self

    def wait(self, state: str) -> None:
        self.page.wait_for_selector(f'#app[data-state="{state}"]', timeout=30_000)

    def visible_text(self, selector: str) -> str:
        return self.page.locator(selector).inner_text().strip()

    def texts(self, selector: str) -> list[str]:
        return [t.strip() for t in self.page.locator(selector).all_inner_texts()]

    def shot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        # the sidebar iframe is sized to its content (the app asks ZAF to resize it)
        self.page.locator("#app").screenshot(path=str(path))
        return path

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def open_sidebar(browser, zaf):
    opened = []

    def make(requester=REQUESTER, wait_for="found") -> Sidebar:
        sidebar = Sidebar(browser, zaf, requester)
        opened.append(sidebar)
        return sidebar.open(wait_for)

    yield make
    for sidebar in opened:
        assert sidebar.outside == [], "the page reached beyond Zendesk's ZAF SDK"
        sidebar.close()


def seed_margaret(stack) -> None:
    stack.put_profile(id="p-margaret", first_name="Margaret", last_name="Hamilton",
                      email="margaret@example.com", tier="platinum", joined_at="2019-04-02 10:00:00",
                      identities=[{"handle": "zendesk", "identifier": str(REQUESTER["id"])}])
    requests.post(f"{stack.omneo}/_sandbox/profiles/p-margaret/rewards", timeout=5, json={
        "balances": {"reward_balance": 35, "credit_balance": 120.5, "point_balance": 4820,
                     "point_balance_dollars": 48.2, "combined_balance_dollars": 83.2},
        "benefits": [
            {"name": "Birthday $20 voucher", "expires_at": "2099-06-30 23:59:59"},
            {"name": "Free express shipping", "expires_at": "2099-02-14 23:59:59"},
            {"name": "Last year's voucher", "expires_at": "2001-01-01 00:00:00"},
        ],
        "transactions": [
            {"transacted_at": "2026-11-20 15:04:00", "location": "Melbourne Emporium", "total": 249.95,
             "items": [{"name": "Trench coat", "quantity": 1}, {"name": "Scarf", "quantity": 2}]},
            {"transacted_at": "2026-10-02 11:30:00", "location": "Online store", "total": 89, "items": 1},
            {"transacted_at": "2026-08-15 09:12:00", "location": "Sydney CBD", "total": 42.5, "items": 2},
            {"transacted_at": "2026-05-01 17:45:00", "location": "Chadstone", "total": 310, "items": 4},
            {"transacted_at": "2026-02-11 13:00:00", "location": "Online store", "total": 19.99, "items": 1},
            {"transacted_at": "2025-12-20 10:00:00", "location": "Bondi Junction", "total": 75, "items": 1},
        ],
    }).raise_for_status()


def test_found_customer(stack, zaf, open_sidebar):
    seed_margaret(stack)
    sidebar = open_sidebar()
    page = sidebar.page
    assert sidebar.visible_text('[data-field="name"]') == "Margaret Hamilton"
    assert sidebar.visible_text('[data-field="tier"]') == "Platinum"
    assert sidebar.visible_text('[data-field="email"]') == "margaret@example.com"
    assert sidebar.visible_text('[data-field="joined"]') == "Member since 2 Apr 2019"
    assert sidebar.visible_text('[data-field="reward_balance"]') == "$35.00"
    assert sidebar.visible_text('[data-field="credit_balance"]') == "$120.50"
    assert sidebar.visible_text('[data-field="point_balance"]') == "4,820"
    assert sidebar.visible_text('[data-field="combined_balance_dollars"]') == "$83.20"
    assert sidebar.texts('[data-list="benefits"] .list__primary') == [
        "Free express shipping", "Birthday $20 voucher"]
    assert sidebar.texts('[data-list="benefits"] .list__secondary') == [
        "Expires 14 Feb 2099", "Expires 30 Jun 2099"]
    assert sidebar.texts('[data-list="transactions"] .list__primary') == [
        "Melbourne Emporium", "Online store", "Sydney CBD", "Chadstone", "Online store"]
    assert sidebar.texts('[data-list="transactions"] .list__secondary')[0] == "20 Nov 2026 · 3 items"
    assert sidebar.texts('[data-list="transactions"] .list__value')[:2] == ["$249.95", "$89.00"]
    link = page.locator('[data-field="cx_manager_url"]')
    assert link.is_visible()
    assert link.get_attribute("href") == "https://sandbox.manager.getomneo.com/profiles/p-margaret"
    assert link.get_attribute("target") == "_blank"
    # nothing overflows the sidebar's width
    assert page.evaluate("document.documentElement.scrollWidth") <= SIDEBAR_WIDTH
    # the page asked the proxy for a signed, short-lived request and never saw the secret
    asked = zaf.requests[-1]
    assert asked["secure"] is True and asked["type"] == "GET"
    assert asked["jwt"]["secret_key"] == "{{setting.shared_secret}}"
    assert asked["jwt"]["claims"] == {"zendesk_user_id": 4242, "email": "margaret@example.com"}
    assert 0 < asked["jwt"]["expiry"] <= 600
    assert stack.env["ZENDESK_APP_SECRET"] not in page.content()
    assert any(name == "resize" for name, _ in page.evaluate("window.__ZAF_CALLS__"))
    sidebar.shot("found")


def test_loading_state(stack, open_sidebar):
    seed_margaret(stack)
    stack.configure("omneo", latency=0.8)
    sidebar = open_sidebar(wait_for=None)
    sidebar.wait("loading")
    assert sidebar.page.locator('[data-state-view="loading"]').is_visible()
    assert "Loading customer" in sidebar.visible_text('[data-state-view="loading"]')
    sidebar.shot("loading")
    sidebar.wait("found")


def test_not_a_customer(stack, open_sidebar):
    seed_margaret(stack)
    sidebar = open_sidebar({"id": 777, "name": "Walk-in Visitor", "email": "visitor@example.com"},
                           wait_for="not_found")
    assert sidebar.visible_text('[data-state-view="not_found"] h1') == "Not an Omneo customer"
    assert sidebar.visible_text('[data-field="not_found_text"]') == \
        "No Omneo profile matches Walk-in Visitor."
    assert not sidebar.page.locator('[data-state-view="found"]').is_visible()
    sidebar.shot("not-a-customer")


def test_error_then_retry_succeeds(stack, open_sidebar):
    seed_margaret(stack)
    stack.configure("omneo", fail=[{"path": "/balances$", "method": "GET", "status": 503, "count": 1}])
    sidebar = open_sidebar(wait_for="error")
    assert sidebar.visible_text('[data-state-view="error"] h1') == "Couldn’t load Omneo data"
    retry = sidebar.page.get_by_role("button", name="Try again")
    assert retry.is_visible()
    sidebar.shot("error")
    retry.click()
    sidebar.wait("found")
    assert sidebar.visible_text('[data-field="name"]') == "Margaret Hamilton"


def test_expired_session(stack, zaf, open_sidebar):
    seed_margaret(stack)
    zaf.clock_offset = -300  # the proxy's token is already past its exp when it arrives
    sidebar = open_sidebar(wait_for="expired")
    assert sidebar.visible_text('[data-state-view="expired"] h1') == "Session expired"
    reload = sidebar.page.get_by_role("button", name="Reload")
    assert reload.is_visible()
    sidebar.shot("expired-session")
    zaf.clock_offset = 0
    reload.click()
    sidebar.wait("found")
