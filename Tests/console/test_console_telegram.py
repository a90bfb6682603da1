"""Telegram login in the console against the fake Telegram data center (plugins/telegram's
`fake-dc --world`, FAKE_DC_BIN): the QR code the page shows is read back from a screenshot with
zbarimg and "scanned" by the fake world's phone app; the page follows the login to connected,
through two-step verification; and the phone → code → password path."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

_TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(_TESTS / "telegram"))
from fake_dc import FakeWorld, fake_dc_binary  # noqa: E402
from test_gateway_e2e import gateway_config, telegram_gateway_binary  # noqa: E402 (also puts Tests/hub on the path)
from hub_harness import make_token  # noqa: E402
from gateway_process import GatewayProcess  # noqa: E402

from browser import decode_qr, screenshot, visible, wait_for  # noqa: E402
from test_console import sign_in  # noqa: E402

LOGIN_WAIT = 60  # a login in a debug build does RSA + DH handshakes


@pytest.fixture(scope="module")
def tg_world(tmp_path_factory):
    world = FakeWorld("console-world", tmp_path_factory.mktemp("console-world"), fake_dc_binary()).start()
    yield world
    world.stop()


@pytest.fixture(scope="module")
def tg_gateway(tmp_path_factory, tg_world):
    binary = telegram_gateway_binary()
    work = tmp_path_factory.mktemp("console-telegram")
    process = GatewayProcess("console-telegram", work, gateway_config(work, binary, tg_world), binary).start()
    yield process
    process.stop()


def phone() -> str:
    return "+99977" + str(uuid.uuid4().int % 10**6).rjust(6, "0")


def open_connect_form(driver, method: str) -> None:
    driver.find_element(By.CSS_SELECTOR, "#sections button[data-view=accounts]").click()
    wait_for(driver, lambda d: "telegram" in [o.text for o in Select(d.find_element(By.ID, "connect-platform")).options],
             "the telegram channel in the platform list")
    Select(driver.find_element(By.ID, "connect-platform")).select_by_value("telegram")
    driver.find_element(By.CSS_SELECTOR, f"input[name=method][value={method}]").click()


def shown_qr(driver, shots: Path, name: str) -> str:
    """Screenshots the QR the page shows and decodes it: what a phone's camera would read."""
    image = wait_for(driver, lambda d: (i := visible(d, "#qr-image")) and i.get_attribute("src").startswith("blob:")
                     and d.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", i) and i,
                     "the QR code image", timeout=LOGIN_WAIT)
    path = shots / name
    screenshot(driver, path, image)
    codes = decode_qr(path)
    assert len(codes) == 1, f"zbarimg read {codes} from {path}"
    return codes[0]


def test_qr_login_through_the_console_with_two_step_verification(tg_gateway, tg_world, browser, shots):
    org = f"org-tgc-{uuid.uuid4().hex[:8]}"
    user = tg_world.add_user(phone(), "Quinn", password="qr secret")
    sign_in(browser, tg_gateway, make_token(org))
    open_connect_form(browser, "qr")
    browser.find_element(By.ID, "connect-button").click()

    url = shown_qr(browser, shots, "qr.png")
    assert url.startswith("tg://login?token="), url
    screenshot(browser, shots / "qr-page.png")

    tg_world.command("scan_login_token", token=url, userId=user["userId"])
    field = wait_for(browser, lambda d: visible(d, "#login-password"), "the two-step password form", timeout=LOGIN_WAIT)
    assert not visible(browser, "#qr"), "the QR code stays after the scan"
    field.send_keys("qr secret")
    browser.find_element(By.CSS_SELECTOR, "#password-form button[type=submit]").click()
    wait_for(browser, lambda d: d.find_element(By.ID, "login-step").get_attribute("data-status") == "connected",
             "the login to finish", timeout=LOGIN_WAIT)
    assert "Connected" in browser.find_element(By.ID, "login-message").text
    wait_for(browser, lambda d: visible(d, "#account-table .status-badge[data-status=connected]"), "the connected account")
    screenshot(browser, shots / "connected.png")


def test_phone_and_code_login_through_the_console(tg_gateway, tg_world, browser, shots):
    org = f"org-tgc-{uuid.uuid4().hex[:8]}"
    number = phone()
    tg_world.add_user(number, "Cora")
    sign_in(browser, tg_gateway, make_token(org))
    open_connect_form(browser, "code")
    browser.find_element(By.ID, "telegram-phone").send_keys(number)
    browser.find_element(By.ID, "connect-button").click()
    field = wait_for(browser, lambda d: visible(d, "#login-code"), "the code form", timeout=LOGIN_WAIT)
    field.send_keys("00000")  # wrong first: the form says so and stays
    browser.find_element(By.CSS_SELECTOR, "#code-form button[type=submit]").click()
    wait_for(browser, lambda d: "invalid" in d.find_element(By.ID, "login-message").text.lower(), "the wrong-code message",
             timeout=LOGIN_WAIT)
    field.clear()
    field.send_keys(tg_world.code_for(number))
    browser.find_element(By.CSS_SELECTOR, "#code-form button[type=submit]").click()
    wait_for(browser, lambda d: d.find_element(By.ID, "login-step").get_attribute("data-status") == "connected",
             "the login to finish", timeout=LOGIN_WAIT)
    screenshot(browser, shots / "code-connected.png")
