"""The sidebar page in headless Chromium (Playwright, system Chromium), with the stand-in for the
ZAF client and Zendesk's proxy (web/sidebar_preview), against the real receiver, worker, Redis
and the Omneo sandbox process.

Asserts what an agent sees in each state, in light and dark, in two languages, and saves a
screenshot of each under test-artifacts/sidebar/ (listed in README).
"""
from __future__ import annotations

import calendar
import json
import time

import pytest
import requests

from integration.store import keys
from web.sidebar_preview import ZafHost
from tests.e2e.helpers import SIDEBAR_WIDTH, Sidebar, delete_profile, erase, synced_customer

pytestmark = pytest.mark.e2e

REQUESTER = {"id": 4242, "name": "Margaret Hamilton", "email": "margaret@example.com"}


@pytest.fixture
def zaf(stack):
    host = ZafHost({"service_url": stack.receiver,
                    "shared_secret": stack.env["ZENDESK_APP_SECRET"]}).start()
    yield host
    host.stop()


@pytest.fixture
def open_sidebar(browser, zaf):
    opened = []

    def make(requester=REQUESTER, wait_for="found", locale="en-US", scheme="light",
             background=False, timezone="UTC") -> Sidebar:
        sidebar = Sidebar(browser, zaf, requester, locale, scheme, background, timezone)
        opened.append(sidebar)
        return sidebar.open(wait_for)

    yield make
    for sidebar in opened:
        assert sidebar.outside == [], "the page reached beyond its own host"
        sidebar.close()


MARGARET_REWARDS = {
    "balances": {"reward_balance": 35, "credit_balance": 120.5, "point_balance": 4820,
                 "point_balance_dollars": 48.2, "combined_balance_dollars": 83.2, "currency": "AUD"},
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
}


def seed_margaret(stack, profile_id="p-margaret", zendesk_user_id=REQUESTER["id"]) -> None:
    stack.zendesk_add_user(id=zendesk_user_id, name=REQUESTER["name"], email=REQUESTER["email"])
    stack.put_profile(id=profile_id, first_name="Margaret", last_name="Hamilton",
                      email="margaret@example.com", tier="platinum", joined_at="2019-04-02 10:00:00",
                      identities=[{"handle": "zendesk", "identifier": str(zendesk_user_id)}])
    requests.post(f"{stack.omneo}/_sandbox/profiles/{profile_id}/rewards", timeout=5,
                  json=MARGARET_REWARDS).raise_for_status()


def omneo_down(stack) -> None:
    stack.configure("omneo", fail=[{"path": ".", "status": 503, "count": 10_000}])


def test_found_customer_light_english(stack, zaf, open_sidebar):
    seed_margaret(stack)
    sidebar = open_sidebar()
    page = sidebar.page
    assert page.get_attribute("html", "data-color-scheme") == "light"
    assert page.get_attribute("html", "lang") == "en-US"
    assert sidebar.visible_text('[data-field="name"]') == "Margaret Hamilton"
    assert sidebar.visible_text('[data-field="tier"]') == "Platinum"
    assert sidebar.visible_text('[data-field="email"]') == "margaret@example.com"
    assert sidebar.visible_text('[data-field="joined"]') == "Member since Apr 2, 2019"
    # money in the customer's currency as Omneo gives it, in the agent's locale
    assert sidebar.visible_text('[data-field="reward_balance"]') == "A$35.00"
    assert sidebar.visible_text('[data-field="credit_balance"]') == "A$120.50"
    assert sidebar.visible_text('[data-field="point_balance"]') == "4,820"
    assert sidebar.visible_text('[data-field="combined_balance_dollars"]') == "A$83.20"
    assert sidebar.texts('[data-list="benefits"] .list__primary') == [
        "Free express shipping", "Birthday $20 voucher"]
    assert sidebar.texts('[data-list="benefits"] .list__secondary') == [
        "Expires Feb 14, 2099", "Expires Jun 30, 2099"]
    assert sidebar.texts('[data-list="transactions"] .list__primary') == [
        "Melbourne Emporium", "Online store", "Sydney CBD", "Chadstone", "Online store"]
    assert sidebar.texts('[data-list="transactions"] .list__secondary')[:2] == [
        "Nov 20, 2026 · 3 items", "Oct 2, 2026 · 1 item"]
    assert sidebar.texts('[data-list="transactions"] .list__value')[:2] == ["A$249.95", "A$89.00"]
    assert sidebar.visible_text('[data-field="updated"]') == "Updated just now"
    assert not page.locator('[data-field="stale"]').is_visible()
    link = page.locator('[data-field="cx_manager_url"]')
    assert link.is_visible()
    assert link.get_attribute("href") == "https://sandbox.manager.getomneo.com/profiles/p-margaret"
    assert link.get_attribute("target") == "_blank"
    # labelled regions
    assert page.get_attribute("#app", "aria-label") == "Omneo customer"
    assert page.get_by_role("region", name="Balances").is_visible()
    assert page.get_by_role("region", name="Recent purchases").is_visible()
    # nothing overflows the sidebar's width
    assert page.evaluate("document.documentElement.scrollWidth") <= SIDEBAR_WIDTH
    # the page asked the proxy for a signed, short-lived request and never saw the secret
    asked = zaf.requests[-1]
    assert asked["secure"] is True and asked["type"] == "GET"
    assert asked["jwt"]["secret_key"] == "{{setting.shared_secret}}"
    # the requester's id, nothing the service would have to believe: it asks Zendesk who that is
    assert asked["jwt"]["claims"] == {"zendesk_user_id": 4242}
    assert 0 < asked["jwt"]["expiry"] <= 600
    assert stack.env["ZENDESK_APP_SECRET"] not in page.content()
    # sized to its content
    resizes = [arg for name, arg in page.evaluate("window.__ZAF_CALLS__") if name == "resize"]
    assert resizes and resizes[-1]["height"] == f"{round(page.locator('#app').bounding_box()['height'])}px"
    assert sidebar.contrast_failures() == []
    sidebar.shot("found-light-en")


def test_found_customer_dark_german(stack, open_sidebar):
    seed_margaret(stack)
    sidebar = open_sidebar(locale="de", scheme="dark")
    page = sidebar.page
    assert page.get_attribute("html", "data-color-scheme") == "dark"
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(21, 26, 30)"
    assert sidebar.visible_text('[data-field="joined"]') == "Mitglied seit 2. Apr. 2019"
    assert sidebar.visible_text('#balances-title') == "GUTHABEN"  # shown in capitals by the CSS
    assert sidebar.visible_text('[data-field="reward_balance"]') == "35,00 AU$"
    assert sidebar.visible_text('[data-field="point_balance"]') == "4.820"
    assert sidebar.texts('[data-list="benefits"] .list__secondary')[0] == "Gültig bis 14. Feb. 2099"
    assert sidebar.texts('[data-list="transactions"] .list__secondary')[0] == "20. Nov. 2026 · 3 Artikel"
    assert sidebar.texts('[data-list="transactions"] .list__value')[0] == "249,95 AU$"
    assert sidebar.visible_text('[data-field="updated"]') == "Gerade aktualisiert"
    assert page.get_by_role("button", name="Aktualisieren").is_visible()
    assert page.get_attribute("#app", "aria-label") == "Omneo-Kunde"
    assert sidebar.contrast_failures() == []
    sidebar.shot("found-dark-de")


def test_follows_zendesk_colour_scheme_changes(stack, open_sidebar):
    seed_margaret(stack)
    sidebar = open_sidebar()
    page = sidebar.page
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(255, 255, 255)"
    page.evaluate("ZAFClient.init().trigger('colorScheme.changed', 'dark')")
    assert page.get_attribute("html", "data-color-scheme") == "dark"
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(21, 26, 30)"
    assert sidebar.contrast_failures() == []
    page.evaluate("ZAFClient.init().trigger('colorScheme.changed', 'light')")
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(255, 255, 255)"


def test_keyboard_reaches_the_controls_with_a_visible_focus(stack, open_sidebar):
    seed_margaret(stack)
    sidebar = open_sidebar(scheme="dark")
    page = sidebar.page
    reached = []
    for _ in range(6):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement === document.body"):
            continue
        reached.append(page.evaluate("document.activeElement.textContent.trim()"))
        outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        assert outline not in ("", "none"), f"no focus ring on {reached[-1]!r}"
        if reached[-1] == "Refresh":
            break
    assert reached == ["Open in CX Manager(opens in a new tab) ↗", "Refresh"]
    page.keyboard.press("Enter")  # the refresh control works from the keyboard too
    page.wait_for_function("window.__ZAF_CALLS__.filter(c => c[0] === 'request').length === 2")
    assert sidebar.proxied()[-1].endswith("/sidebar/profile?refresh=1")


def test_nothing_is_fetched_until_the_app_is_activated(stack, open_sidebar):
    seed_margaret(stack)
    sidebar = open_sidebar(background=True, wait_for=None)
    page = sidebar.page
    page.wait_for_function("window.__ZAF_CALLS__ !== undefined")
    page.evaluate("new Promise(r => setTimeout(r, 300))")  # a ticket loaded in a background tab
    assert sidebar.proxied() == [] and page.get_attribute("#app", "data-state") == "idle"
    page.evaluate("ZAFClient.init().trigger('app.activated', {})")
    sidebar.wait("found")
    assert len(sidebar.proxied()) == 1
    # switching back to the tab does not fetch again (the view is fresh)
    page.evaluate("ZAFClient.init().trigger('app.activated', {})")
    assert len(sidebar.proxied()) == 1


def zone_at_local_hour(hour: int) -> tuple[str, int]:
    """A fixed-offset zone where the clock now reads `hour` o'clock, and its offset in hours."""
    offset = (hour - time.gmtime().tm_hour + 12) % 24 - 12
    return ("UTC" if offset == 0 else f"Etc/GMT{-offset:+d}"), offset  # Etc/GMT-3 is UTC+3


def test_omneo_down_shows_the_last_known_view_with_its_age(stack, open_sidebar):
    seed_margaret(stack)
    open_sidebar()  # an agent saw Margaret earlier ...
    # ... 14 minutes ago
    raw = json.loads(stack.redis.get(keys.sidebar_last_known("p-margaret")))
    then = time.gmtime(time.time() - 14 * 60)
    raw["fetched_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", then)
    stack.redis.set(keys.sidebar_last_known("p-margaret"), json.dumps(raw))
    stack.redis.delete(keys.sidebar_cache("p-margaret"))
    omneo_down(stack)
    # the agent's clock reads 8-something, so the view is from today and German shows '08:mm'
    zone, offset = zone_at_local_hour(8)
    local = time.gmtime(calendar.timegm(then) + offset * 3600)
    for locale, scheme, title, text, updated in (
            ("en-US", "light", "Omneo isn’t answering", "Showing what Omneo said as of {t}.",
             "Updated 14 minutes ago"),
            ("de", "dark", "Omneo antwortet nicht", "Angezeigt wird der Stand von {t}.",
             "Aktualisiert vor 14 Minuten")):
        sidebar = open_sidebar(locale=locale, scheme=scheme, timezone=zone)
        clock = (f"{local.tm_hour % 12 or 12}:{local.tm_min:02d} {'AM' if local.tm_hour < 12 else 'PM'}"
                 if locale == "en-US" else f"{local.tm_hour:02d}:{local.tm_min:02d}")
        assert sidebar.page.locator('[data-field="stale"]').is_visible()
        assert sidebar.visible_text('[data-field="stale_title"]') == title
        assert sidebar.visible_text('[data-field="stale_text"]') == text.format(t=clock)
        assert sidebar.visible_text('[data-field="updated"]') == updated
        assert sidebar.visible_text('[data-field="name"]') == "Margaret Hamilton"
        assert sidebar.contrast_failures() == []
        sidebar.shot(f"omneo-down-last-known-{scheme}-{locale.split('-')[0]}")


def test_omneo_down_without_a_last_known_view(stack, open_sidebar):
    seed_margaret(stack)
    omneo_down(stack)
    sidebar = open_sidebar(wait_for="error")
    assert sidebar.visible_text('[data-state-view="error"] h1') == "Couldn’t load Omneo data"
    retry = sidebar.page.get_by_role("button", name="Try again")
    assert retry.is_visible()
    assert sidebar.contrast_failures() == []
    sidebar.shot("omneo-down-no-last-known")
    stack.configure("omneo", fail=[])
    retry.click()
    sidebar.wait("found")
    assert sidebar.visible_text('[data-field="name"]') == "Margaret Hamilton"


def test_unknown_requester_gets_a_cx_manager_search(stack, open_sidebar):
    seed_margaret(stack)
    stack.zendesk_add_user(id=777, name="Walk-in Visitor", email="visitor+vip@example.com")
    for scheme in ("light", "dark"):
        sidebar = open_sidebar({"id": 777, "name": "Walk-in Visitor", "email": "visitor+vip@example.com"},
                               wait_for="not_found", scheme=scheme)
        assert sidebar.visible_text('[data-state-view="not_found"] h1') == \
            "No Omneo profile for this requester"
        assert sidebar.visible_text('[data-field="not_found_text"]') == \
            "No profile matches Walk-in Visitor."
        search = sidebar.page.get_by_role("link", name="Search CX Manager for visitor+vip@example.com")
        assert search.get_attribute("href") == \
            "https://sandbox.manager.getomneo.com/profiles?search=visitor%2Bvip%40example.com"
        assert not sidebar.page.locator('[data-state-view="found"]').is_visible()
        assert sidebar.contrast_failures() == []
        sidebar.shot(f"unknown-requester-{scheme}")


def test_erased_customer_is_never_shown(stack, open_sidebar):

    user = synced_customer(stack, "gone-sidebar")
    requester = {"id": user["id"], "name": "Erin Rasure", "email": "gone-sidebar@example.com"}
    assert open_sidebar(requester).visible_text('[data-field="name"]') == "Erin Rasure"
    delete_profile(stack, "gone-sidebar")
    job_id = erase(stack, {"id": "gone-sidebar", "identities": [
        {"handle": "zendesk", "identifier": str(user["id"])}]})
    assert stack.wait(lambda: stack.job_outcome(job_id), what="the erasure") == "erased"

    sidebar = open_sidebar(requester, wait_for="not_found")
    assert sidebar.visible_text('[data-state-view="not_found"] h1') == \
        "No Omneo profile for this requester"
    assert "Rasure" not in sidebar.visible_text('[data-state-view="found"]')
    sidebar.shot("erased-customer")
    # Omneo down: what was last known of them is gone too (and erasure deleted their Zendesk
    # user, so Zendesk names no one to show)
    omneo_down(stack)
    sidebar = open_sidebar(requester, wait_for="not_found")
    assert sidebar.page.locator('[data-state-view="found"] [data-field="name"]').inner_text() == ""


def test_loading_state(stack, open_sidebar):
    seed_margaret(stack)
    # two Omneo round trips of 0.5 s: slow enough to see, inside the sidebar's deadline
    stack.configure("omneo", latency=0.5)
    sidebar = open_sidebar(wait_for=None)
    sidebar.wait("loading")
    assert sidebar.page.locator('[data-state-view="loading"]').is_visible()
    assert "Loading customer" in sidebar.visible_text('[data-state-view="loading"]')
    sidebar.shot("loading")
    sidebar.wait("found")


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
