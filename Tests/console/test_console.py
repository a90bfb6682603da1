"""The operator console in a real browser (headless Chromium) against a real gateway with the
loopback channel: sign in, connect an account, start a conversation, see the reply arrive live,
mark it read, watch health; screenshots checked by OCR and pixels, not only the DOM."""

from __future__ import annotations

import time

import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from browser import colour_count, ocr, screenshot, start_browser, visible, wait_for
from conftest import Api, make_token


def sign_in(driver, gateway, token: str) -> None:
    driver.get(gateway.base_url + "/")
    field = wait_for(driver, lambda d: visible(d, "#token"), "the sign-in form")
    field.send_keys(token)
    driver.find_element(By.CSS_SELECTOR, "#sign-in-form button[type=submit]").click()
    wait_for(driver, lambda d: visible(d, "#sections"), "the signed-in navigation")
    wait_for(driver, lambda d: d.find_element(By.ID, "live").get_attribute("data-state") == "connected",
             "the hub connection to be live")


def connect_loopback(driver) -> str:
    """Connects a loopback account through the Accounts view; returns its id."""
    driver.find_element(By.CSS_SELECTOR, "#sections button[data-view=accounts]").click()
    wait_for(driver, lambda d: visible(d, "#connect-form"), "the connect form")
    wait_for(driver, lambda d: "loopback" in [o.text for o in Select(d.find_element(By.ID, "connect-platform")).options],
             "the loopback channel in the platform list")
    Select(driver.find_element(By.ID, "connect-platform")).select_by_value("loopback")
    driver.find_element(By.ID, "connect-button").click()
    return wait_for(driver, lambda d: (badge := visible(d, "#account-table tbody tr .status-badge[data-status=connected]"))
                    and badge.find_element(By.XPATH, "ancestor::tr").get_attribute("data-id"),
                    "a connected account in the table")


def test_sign_in_connect_send_and_see_the_reply_live(console_gateway, browser, org, shots):
    token = make_token(org)
    api = Api(console_gateway, token)
    browser.get(console_gateway.base_url + "/")
    wait_for(browser, lambda d: visible(d, "#token"), "the sign-in form")
    image = screenshot(browser, shots / "1-sign-in.png")
    assert "Sign in" in ocr(shots / "1-sign-in.png")
    assert colour_count(image) > 8

    sign_in(browser, console_gateway, token)
    identity = browser.find_element(By.ID, "identity").text
    assert f"admin-{org}" in identity and org in identity and "admin" in identity, identity

    account_id = connect_loopback(browser)
    assert api.get(f"/api/bd-accounts/{account_id}/status")["status"] == "connected"
    screenshot(browser, shots / "2-accounts.png")
    assert "connected" in ocr(shots / "2-accounts.png").lower()

    # Inbox → New → from the account, to "ann": the first message creates the chat and opens it.
    browser.find_element(By.CSS_SELECTOR, "#sections button[data-view=inbox]").click()
    browser.find_element(By.ID, "new-chat").click()
    wait_for(browser, lambda d: visible(d, "#new-chat-form"), "the new conversation form")
    Select(browser.find_element(By.ID, "new-chat-account")).select_by_value(account_id)
    browser.find_element(By.ID, "new-chat-to").send_keys("ann")
    browser.find_element(By.ID, "new-chat-text").send_keys("hello from the console")
    browser.find_element(By.CSS_SELECTOR, "#new-chat-form button[type=submit]").click()

    wait_for(browser, lambda d: visible(d, "#messages li.outbound[data-status=sent]"), "the sent message, status sent")
    wait_for(browser, lambda d: any(li.text.startswith("echo: hello from the console")
                                   for li in d.find_elements(By.CSS_SELECTOR, "#messages li.inbound")),
             "the channel's reply in the conversation")
    stored = api.get("/api/messaging/messages", bdAccountId=account_id, chatId="ann")["messages"]
    assert sorted(m["content"] for m in stored) == ["echo: hello from the console", "hello from the console"], stored

    # Live: the page is not reloaded, yet a message sent by another client shows up, with its reply.
    browser.execute_script("window.__sameDocument = true")
    api.post("/api/messaging/send", {"channel": "loopback", "channelId": "ann", "bdAccountId": account_id,
                                     "content": "sent by the CRM", "idempotencyKey": f"crm-{time.time_ns()}"})
    wait_for(browser, lambda d: any(li.text.startswith("echo: sent by the CRM")
                                   for li in d.find_elements(By.CSS_SELECTOR, "#messages li.inbound")),
             "the CRM's message and its reply pushed through the hub")
    assert browser.execute_script("return window.__sameDocument === true"), "the page was reloaded"

    # The chat list shows the unread replies; mark as read clears them (in the store too).
    wait_for(browser, lambda d: (b := visible(d, "#chat-list .unread")) and b.text == "2", "the unread badge at 2")
    conversation = browser.find_element(By.CSS_SELECTOR, ".conversation")
    screenshot(browser, shots / "3-conversation.png", conversation)
    text = ocr(shots / "3-conversation.png")
    assert "echo: hello from the console" in text and "sent by the CRM" in text, text
    screenshot(browser, shots / "3-inbox.png")

    browser.find_element(By.ID, "mark-read").click()
    wait_for(browser, lambda d: not visible(d, "#chat-list .unread"), "the unread badge to go")
    chats = api.get("/api/messaging/chats")["chats"]
    assert [(c["chatId"], c["unreadCount"]) for c in chats] == [("ann", 0)], chats


def test_a_refused_token_is_explained_and_nothing_else_shows(console_gateway, browser, shots):
    browser.get(console_gateway.base_url + "/")
    field = wait_for(browser, lambda d: visible(d, "#token"), "the sign-in form")
    expired = make_token("org-x", exp_in=-60)
    field.send_keys(expired)
    browser.find_element(By.CSS_SELECTOR, "#sign-in-form button[type=submit]").click()
    error = wait_for(browser, lambda d: (e := d.find_element(By.ID, "sign-in-error")).text and e, "the sign-in error")
    assert "Token refused" in error.text, error.text
    assert not visible(browser, "#sections") and not visible(browser, "#view-inbox")
    screenshot(browser, shots / "refused.png")
    assert "refused" in ocr(shots / "refused.png").lower()


def test_a_member_reads_and_sends_but_cannot_connect(console_gateway, browser, org):
    admin = Api(console_gateway, make_token(org))
    account = admin.post("/api/bd-accounts/connect", {"platform": "loopback"}, expect=202)
    admin.post("/api/messaging/send", {"channel": "loopback", "channelId": "bob", "bdAccountId": account["id"],
                                       "content": "hi bob", "idempotencyKey": f"k-{time.time_ns()}"})
    sign_in(browser, console_gateway, make_token(org, role="member"))
    browser.find_element(By.CSS_SELECTOR, "#sections button[data-view=accounts]").click()
    wait_for(browser, lambda d: visible(d, "#account-table tbody tr"), "the account list")
    assert not visible(browser, "#connect-card"), "a member sees the connect form"
    assert not visible(browser, "#account-table button"), "a member sees account actions"
    browser.find_element(By.CSS_SELECTOR, "#sections button[data-view=inbox]").click()
    wait_for(browser, lambda d: visible(d, "#chat-list button.chat"), "the chat list").click()
    wait_for(browser, lambda d: visible(d, "#messages li.inbound"), "the conversation")
    browser.find_element(By.ID, "send-text").send_keys("member reply\n")
    wait_for(browser, lambda d: any(li.text.startswith("echo: member reply")
                                   for li in d.find_elements(By.CSS_SELECTOR, "#messages li.inbound")),
             "the member's message answered")


def test_message_text_is_shown_as_text_never_as_markup(console_gateway, browser, org):
    api = Api(console_gateway, make_token(org))
    account = api.post("/api/bd-accounts/connect", {"platform": "loopback"}, expect=202)
    hostile = '<img src=x onerror="window.__owned=1"><b>bold</b>'
    api.post("/api/messaging/send", {"channel": "loopback", "channelId": '<script>alert(1)</script>',
                                     "bdAccountId": account["id"], "content": hostile,
                                     "idempotencyKey": f"k-{time.time_ns()}"})
    sign_in(browser, console_gateway, make_token(org))
    chat = wait_for(browser, lambda d: visible(d, "#chat-list button.chat"), "the chat list")
    assert "<script>alert(1)</script>" in chat.text
    chat.click()
    message = wait_for(browser, lambda d: visible(d, "#messages li.outbound .text"), "the message")
    assert message.text == hostile
    assert not browser.find_elements(By.CSS_SELECTOR, "#messages img, #messages b")
    assert browser.execute_script("return window.__owned === undefined")


def test_health_shows_plugins_connections_and_rates(console_gateway, browser, org, shots):
    sign_in(browser, console_gateway, make_token(org))
    browser.find_element(By.CSS_SELECTOR, "#sections button[data-view=health]").click()
    row = wait_for(browser, lambda d: visible(d, "#plugin-table tbody tr"), "the plugin table")
    assert "loopback" in row.text and "loaded" in row.text, row.text
    connections = wait_for(browser, lambda d: [r.text for r in d.find_elements(By.CSS_SELECTOR, "#connection-table tbody tr")
                                               if r.text.startswith(org)], "this organization's hub connection")
    assert connections == [f"{org} 1"], connections
    # The stored-messages rate needs two samples of /metrics (5 s apart).
    wait_for(browser, lambda d: "/s" in d.find_element(By.ID, "health-summary").text, "the message rate", timeout=12)
    screenshot(browser, shots / "health.png")
    text = ocr(shots / "health.png")
    assert "Plugins" in text and "loopback" in text, text


def test_narrow_screens_show_one_pane_at_a_time(console_gateway, org, shots):
    api = Api(console_gateway, make_token(org))
    account = api.post("/api/bd-accounts/connect", {"platform": "loopback"}, expect=202)
    api.post("/api/messaging/send", {"channel": "loopback", "channelId": "carol", "bdAccountId": account["id"],
                                     "content": "hi carol", "idempotencyKey": f"k-{time.time_ns()}"})
    phone = start_browser(390, 844)
    try:
        sign_in(phone, console_gateway, make_token(org))
        chat = wait_for(phone, lambda d: visible(d, "#chat-list button.chat"), "the chat list")
        assert not visible(phone, "#send-form"), "the conversation shows beside the list on a phone"
        screenshot(phone, shots / "phone-chats.png")
        chat.click()
        wait_for(phone, lambda d: visible(d, "#messages li.inbound"), "the conversation")
        assert not visible(phone, "#chat-list"), "the list stays beside the conversation on a phone"
        assert phone.execute_script("return document.documentElement.scrollWidth <= window.innerWidth"), \
            "the page scrolls sideways on a phone"
        screenshot(phone, shots / "phone-conversation.png")
        assert "echo: hi carol" in ocr(shots / "phone-conversation.png")
        phone.find_element(By.ID, "back-to-chats").click()
        wait_for(phone, lambda d: visible(d, "#chat-list"), "the list again")
    finally:
        phone.quit()


def test_every_control_has_a_name_and_the_page_loads_nothing_from_elsewhere(console_gateway, browser, org):
    sign_in(browser, console_gateway, make_token(org))
    unnamed = browser.execute_script("""
        const named = (e) => e.getAttribute('aria-label') || (e.id && document.querySelector(`label[for="${e.id}"]`))
            || e.closest('label') || (e.tagName === 'BUTTON' && e.textContent.trim());
        return [...document.querySelectorAll('input, select, textarea, button')].filter((e) => !named(e))
            .map((e) => e.outerHTML.slice(0, 120));""")
    assert unnamed == [], unnamed
    images = browser.execute_script("return [...document.images].filter((i) => !i.alt).map((i) => i.outerHTML)")
    assert images == [], images
    resources = browser.execute_script("return performance.getEntriesByType('resource').map((r) => r.name)")
    assert resources and all(r.startswith(console_gateway.base_url) or r.startswith("ws://127.0.0.1") for r in resources), resources
    assert browser.execute_script("return document.documentElement.lang") == "en"


def test_assets_are_served_with_a_strict_policy_and_revalidated(console_gateway):
    session = requests.Session()
    session.trust_env = False
    page = session.get(console_gateway.base_url + "/", timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    policy = page.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    for asset, kind in (("app.js", "text/javascript"), ("socket.js", "text/javascript"), ("app.css", "text/css"),
                        ("favicon.svg", "image/svg+xml")):
        response = session.get(f"{console_gateway.base_url}/console/{asset}", timeout=10)
        assert response.status_code == 200 and response.headers["Content-Type"].startswith(kind), asset
        again = session.get(f"{console_gateway.base_url}/console/{asset}", headers={"If-None-Match": response.headers["ETag"]},
                            timeout=10)
        assert again.status_code == 304 and not again.content, asset
    for missing in ("/console/nope.js", "/console/..%2Fopenapi.yaml", "/console/"):
        response = session.get(console_gateway.base_url + missing, timeout=10)
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found", missing
