"""Headless Chromium (Debian's chromium and chromium-driver) under Selenium, and what the console
tests read back from its screenshots: OCR text (tesseract) and QR codes (zbarimg)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WAIT = 15  # seconds: the longest any step of a console test waits for the page


def require_tools() -> None:
    missing = [tool for tool in (CHROMIUM, CHROMEDRIVER) if not Path(tool).is_file()]
    missing += [tool for tool in ("tesseract", "zbarimg") if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"console tests need {', '.join(missing)}: scripts/bootstrap.sh installs chromium, "
                    "chromium-driver, tesseract-ocr and zbar-tools", pytrace=False)


def start_browser(width: int = 1280, height: int = 900) -> webdriver.Chrome:
    require_tools()
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     f"--window-size={width},{height}", "--force-device-scale-factor=1", "--lang=en-US",
                     "--no-proxy-server", "--disable-background-networking", "--disable-component-update",
                     "--force-color-profile=srgb"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(WAIT)
    driver.set_script_timeout(WAIT)
    return driver


def wait_for(driver, condition, what: str, timeout: float = WAIT):
    """Waits until `condition(driver)` is truthy; fails naming `what` and showing the page's errors."""
    try:
        # The console re-renders lists as they change: an element read a moment ago may be gone.
        return WebDriverWait(driver, timeout, poll_frequency=0.1,
                             ignored_exceptions=[StaleElementReferenceException]).until(lambda d: condition(d))
    except TimeoutException:
        pytest.fail(f"timed out after {timeout} s waiting for {what}; browser log: {console_errors(driver)}",
                    pytrace=False)


def visible(driver, css: str):
    elements = [e for e in driver.find_elements(By.CSS_SELECTOR, css) if e.is_displayed()]
    return elements[0] if elements else None


def console_errors(driver) -> list[str]:
    """The page's console errors (uncaught exceptions, failed loads) since the last call; a 4xx the
    console asked for on purpose (a refused token, no QR yet) is logged by Chromium but is no error."""
    try:
        return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"
                and "the server responded with a status of 4" not in entry["message"]]
    except Exception:  # noqa: BLE001 - a log the driver cannot give is not the test's subject
        return []


def screenshot(driver, path: Path, element=None) -> Image.Image:
    path.parent.mkdir(parents=True, exist_ok=True)
    if element is None:
        driver.save_screenshot(str(path))
    else:
        # Only what is in the viewport is drawn: bring the whole element into it first.
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
        element.screenshot(str(path))
    return Image.open(path)


def ocr(path: Path) -> str:
    """The text tesseract reads in a screenshot (scaled up 2x: UI text is small for OCR)."""
    image = Image.open(path).convert("L")
    large = path.with_suffix(".ocr.png")
    image.resize((image.width * 2, image.height * 2), Image.LANCZOS).save(large)
    result = subprocess.run(["tesseract", str(large), "stdout", "--psm", "6"], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, f"tesseract failed: {result.stderr}"
    return result.stdout


def decode_qr(path: Path) -> list[str]:
    """Every QR code zbarimg finds in a screenshot."""
    result = subprocess.run(["zbarimg", "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", str(path)],
                            capture_output=True, text=True, timeout=30)
    return [line for line in result.stdout.splitlines() if line]


def colour_count(image: Image.Image) -> int:
    """Distinct colours: a blank or failed render has one or two."""
    return len(image.convert("RGB").getcolors(maxcolors=1 << 20) or [])
