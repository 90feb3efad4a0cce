"""The sidebar's action forms in headless Chromium, as Zendesk opens the server-side app: the stand-in
for Zendesk posts the agent's signed ZAF JWT to the real receiver and shows the page it answers;
the forms post to the receiver; a real worker does the job against the Omneo sandbox process.

One page per scheme and language (light English, dark German) covers the forms, a refusal with the
service's reason, "pending" while Omneo is down and "done" once it is back; one more shows an agent
whose role may not act. Screenshots go to test-artifacts/sidebar/ (listed in README).
"""
from __future__ import annotations

import pytest
import requests

from integration.sandbox.zaf import SAMPLE_AGENTS, ZafSigner
from tests.e2e.helpers import INSTALLATION, SIDEBAR_WIDTH, ZAF_KEY, Sidebar
from web.sidebar_preview import ZafHost

pytestmark = pytest.mark.e2e

AGENT, LEAD = SAMPLE_AGENTS[1]["id"], SAMPLE_AGENTS[2]["id"]
REQUESTER = {"id": 4343, "name": "Katherine Johnson", "email": "katherine@example.com"}


@pytest.fixture
def stack(actions_stack):
    return actions_stack


@pytest.fixture
def ticket_id(stack) -> int:
    stack.zendesk_add_user(id=REQUESTER["id"], name=REQUESTER["name"], email=REQUESTER["email"])
    stack.put_profile(id="p-katherine", first_name="Katherine", last_name="Johnson", email=REQUESTER["email"],
                      tier="gold", identities=[{"handle": "zendesk", "identifier": str(REQUESTER["id"])}])
    return stack.zendesk_add_ticket(REQUESTER["id"], "The parcel came a week late")["id"]


@pytest.fixture
def zaf(stack):
    signer = ZafSigner(stack.env["ZENDESK_BASE_URL"], INSTALLATION, key=ZAF_KEY)
    host = ZafHost({"service_url": stack.receiver, "shared_secret": stack.env["ZENDESK_APP_SECRET"]},
                   zaf_token=lambda agent: signer.token(agent)).start()
    yield host
    host.stop()


@pytest.fixture
def open_app(browser, zaf, ticket_id):
    opened = []

    def make(agent, locale="en-US", scheme="light") -> Sidebar:
        sidebar = Sidebar(browser, zaf, REQUESTER, locale, scheme, False, agent=agent, ticket_id=ticket_id)
        opened.append(sidebar)
        return sidebar.open("found")

    yield make
    for sidebar in opened:
        assert sidebar.outside == [], "the page reached beyond its own host"
        sidebar.close()


def status_of(sidebar, kind: str) -> str:
    return sidebar.visible_text(f'[data-status="{kind}"]')


def wait_status(sidebar, kind: str, what: str) -> None:
    sidebar.page.wait_for_selector(f'[data-status="{kind}"][data-kind="{what}"]:not([hidden])', timeout=30_000)


def fill_reward(page, value: str, definition="7", reason="late_delivery", note="") -> None:
    form = page.locator('[data-form="reward"]')
    form.locator('[name="reward_definition_id"]').select_option(definition)
    form.locator('[name="value"]').fill(value)
    form.locator('[name="expiry_days"]').fill("60")
    form.locator('[name="reason"]').select_option(reason)
    form.locator('[name="note"]').fill(note)


def issued(stack) -> list[dict]:
    return requests.get(stack.omneo + "/_sandbox/rewards", timeout=5).json()["data"]


def claimed(stack) -> list[dict]:
    return requests.get(stack.omneo + "/_sandbox/claimed-benefits", timeout=5).json()["data"]


@pytest.mark.parametrize("locale, scheme", [("en-US", "light"), ("de", "dark")])
def test_an_allowed_agent_acts_from_the_forms(stack, open_app, locale, scheme):
    english = locale == "en-US"
    tag = f"{scheme}-{locale.split('-')[0]}"
    sidebar = open_app(LEAD, locale=locale, scheme=scheme)
    page = sidebar.page
    page.wait_for_selector('[data-form="claim"]:not([hidden])', timeout=30_000)
    assert sidebar.visible_text('#reward-title') == ("Goodwill reward" if english else "Kulanzprämie")
    assert sidebar.texts('[data-form="reward"] [name="reason"] option')[0] == \
        ("Late delivery" if english else "Verspätete Lieferung")
    assert sidebar.texts('[data-form="claim"] [name="benefit_id"] option') == [
        "Free express shipping", "Birthday coffee"]
    assert page.evaluate("document.documentElement.scrollWidth") <= SIDEBAR_WIDTH
    assert sidebar.contrast_failures() == []
    sidebar.shot(f"actions-forms-{tag}")

    # over the cap per action: refused with the reason, in the agent's language, nothing written to Omneo
    fill_reward(page, "60", note="parcel a week late")
    page.locator('[data-form="reward"] button[type="submit"]').click()
    wait_status(sidebar, "reward", "refused")
    assert status_of(sidebar, "reward") == ("Not done: a reward may be worth at most 50" if english
                                            else "Nicht erledigt: eine Prämie darf höchstens 50 wert sein")
    assert sidebar.contrast_failures() == []
    sidebar.shot(f"actions-refused-{tag}")

    # Omneo down: "pending" until it is back, then "done"; a double submit makes one reward
    stack.configure("omneo", fail=[{"path": "/rewards$", "method": "POST", "status": 503, "count": 10_000}])
    fill_reward(page, "20", note="parcel a week late")
    page.evaluate("""() => { const f = document.querySelector('[data-form="reward"]');
                             f.requestSubmit(); f.requestSubmit(); }""")
    wait_status(sidebar, "reward", "pending")
    stack.wait(lambda: stack.stats("omneo").get("injected_failures", 0) >= 2, what="retries against Omneo")
    assert status_of(sidebar, "reward").startswith("Pending:" if english else "Ausstehend:")
    assert sidebar.contrast_failures() == []
    sidebar.shot(f"actions-pending-{tag}")
    stack.configure("omneo", fail=[])
    wait_status(sidebar, "reward", "done")
    assert status_of(sidebar, "reward").startswith("Done:" if english else "Erledigt:")
    assert [(r["value_initial"], r["profile_id"]) for r in issued(stack)] == [(20, "p-katherine")]

    # a benefit claim, then it is no longer offered (not reclaimable)
    page.locator('[data-form="claim"] [name="benefit_id"]').select_option("31")
    page.locator('[data-form="claim"] [name="note"]').fill("sorry again")
    page.locator('[data-form="claim"] button[type="submit"]').click()
    wait_status(sidebar, "claim", "done")
    assert [c["definition"]["handle"] for c in claimed(stack)] == ["free-express-shipping"]
    page.wait_for_function("""() => Array.from(document.querySelectorAll(
        '[data-form="claim"] [name="benefit_id"] option')).map(o => o.value).join() === '32'""")
    assert sidebar.contrast_failures() == []
    sidebar.shot(f"actions-done-{tag}")


def test_an_agent_whose_role_may_not_act_sees_no_forms(stack, open_app):
    sidebar = open_app(AGENT)
    page = sidebar.page
    page.wait_for_selector('[data-field="actions_hint"]:not([hidden])', timeout=30_000)
    assert sidebar.visible_text('[data-field="actions_hint"]') == \
        "Your Zendesk role can’t issue rewards or claim benefits here."
    assert not page.locator('[data-form="reward"]').is_visible()
    assert not page.locator('[data-form="claim"]').is_visible()
    sidebar.shot("actions-role-may-not-act")


def test_the_packaged_app_shows_no_actions(stack, browser, zaf, ticket_id):
    sidebar = Sidebar(browser, zaf, REQUESTER, "en-US", "light", False, ticket_id=ticket_id).open("found")
    try:
        assert sidebar.visible_text('[data-field="name"]') == "Katherine Johnson"
        assert not sidebar.page.locator('[data-field="actions"]').is_visible()
        assert not any("/sidebar/session" in url for url in sidebar.proxied())
    finally:
        sidebar.close()
