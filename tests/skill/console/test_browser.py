"""The console in a real browser: headless Chromium (Debian's) driven by Selenium.

A live server (werkzeug on 127.0.0.1, real SQLite store) is fed the showcase scenario through
the device API; the browser signs in, reads the turns, filters, opens one, runs the playground
and verifies the log. With ``ASKFIRST_SCREENSHOTS=docs`` the screenshots are written to
``docs/`` (the README shows them); otherwise to the test's temporary folder.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.expected_conditions import staleness_of
from selenium.webdriver.support.ui import Select, WebDriverWait

from askfirst.skill.simulator.runner import Report
from tests.skill.live import OPERATOR_TOKEN, REPO, Live

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
PLAYGROUND_SCENARIO = """\
name: a kitchen afternoon
description: One question asked, one remark overheard; the second expectation is wrong on purpose.
events:
  - at: 0
    device: kitchen
    trigger: wake_word
    say: "Alexa, what running shoes do you recommend?"
    expect: {tag: prompted, offer: shoes-trailblazer}
  - at: 10
    device: kitchen
    say: "we should buy coffee later"
    expect: {offer: true}
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    """Headless Chromium; the test fails (it is not skipped) when the browser is missing:
    ``scripts/bootstrap`` installs Debian's chromium and chromium-driver."""
    assert CHROMIUM.exists() and CHROMEDRIVER.exists(), (
        f"expected Debian's chromium at {CHROMIUM} and chromium-driver at {CHROMEDRIVER}; "
        "run scripts/bootstrap"
    )
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root
        "--disable-dev-shm-usage",
        "--window-size=1280,900",
        "--force-device-scale-factor=1",
        "--lang=en-US",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.implicitly_wait(5)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if os.environ.get("ASKFIRST_SCREENSHOTS") == "docs":
        return REPO / "docs"
    return tmp_path_factory.mktemp("screenshots")


def _shoot(browser: WebDriver, folder: Path, name: str) -> Path:
    """A screenshot of the whole page (the window grown to the page's height)."""
    width = browser.get_window_size()["width"]
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(width, min(max(int(height) + 20, 600), 2400))
    path = folder / f"console-{name}.png"
    assert browser.save_screenshot(str(path)), f"could not write {path}"
    return path


def _sign_in(browser: WebDriver, live: Live, token: str) -> None:
    field = browser.find_element(By.ID, "token")
    field.clear()
    field.send_keys(token)
    field.send_keys(Keys.ENTER)


def _rows(browser: WebDriver) -> list[str]:
    return [row.text for row in browser.find_elements(By.CSS_SELECTOR, "table.turns tbody tr")]


def test_the_console_end_to_end(
    browser: WebDriver, played: tuple[Live, Report], shots: Path
) -> None:
    live, report = played
    results = [o.result for o in report.outcomes if o.result is not None]

    # Signed out: the turns page sends the browser to sign in.
    browser.delete_all_cookies()
    browser.get(f"{live.url}/console/turns")
    assert "/console/login" in browser.current_url
    assert not browser.find_elements(By.CSS_SELECTOR, "table.turns")

    # A wrong token is refused, and the page says so.
    _sign_in(browser, live, "not-the-operator-token-at-all")
    assert "not an operator token" in browser.find_element(By.ID, "login-error").text
    assert not browser.find_elements(By.CSS_SELECTOR, "table.turns")

    # The right token: the turns the scenario produced, newest first.
    _sign_in(browser, live, OPERATOR_TOKEN)
    assert browser.current_url.endswith("/console/turns")
    rows = _rows(browser)
    assert len(rows) == len(results)
    page = browser.page_source
    for result in results:
        assert result["decision"]["id"] in page
    for outcome in report.outcomes:  # an ambient turn shows what the store holds: no text
        if outcome.result is not None and outcome.result["tag"] == "ambient":
            assert str(outcome.event.say) not in page
    _shoot(browser, shots, "turns")

    # Filter to offers: only the turns that made one.
    browser.set_window_size(1280, 900)
    Select(browser.find_element(By.ID, "f-offer")).select_by_visible_text("offer made")
    browser.find_element(By.CSS_SELECTOR, "form.filters button[type=submit]").click()
    assert "offer=yes" in browser.current_url
    offered = [r for r in results if r["offer"]]
    rows = _rows(browser)
    assert len(rows) == len(offered) >= 1
    assert all("offer" in row and "permit" in row for row in rows)

    # Open one and read its deciding rule.
    browser.find_element(By.CSS_SELECTOR, "table.turns tbody tr a").click()
    assert browser.find_element(By.ID, "deciding-rule").text == "permit"
    shown = browser.find_element(By.CSS_SELECTOR, "h1 code").text
    wanted = next(r for r in offered if r["decision"]["id"] == shown)
    assert wanted["decision"]["rule"] == "permit"
    assert "only because you asked" in browser.find_element(By.CSS_SELECTOR, "pre.explain").text
    assert "record " in browser.find_element(By.ID, "h-audit").find_element(By.XPATH, "..").text
    _shoot(browser, shots, "turn")


def test_the_playground_marks_failed_expectations(
    browser: WebDriver, played: tuple[Live, Report], shots: Path
) -> None:
    live, _ = played
    browser.set_window_size(1280, 900)
    browser.get(f"{live.url}/console/playground")
    if "/console/login" in browser.current_url:
        _sign_in(browser, live, OPERATOR_TOKEN)
        browser.get(f"{live.url}/console/playground")
    area = browser.find_element(By.ID, "scenario")
    browser.execute_script("arguments[0].value = arguments[1]", area, PLAYGROUND_SCENARIO)
    browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    summary = browser.find_element(By.ID, "play-summary").text
    assert "1 expectation failed" in summary
    failed = browser.find_elements(By.CSS_SELECTOR, "li.event.failed")
    held = browser.find_elements(By.CSS_SELECTOR, "li.event.held")
    assert len(failed) == 1 and len(held) == 1
    assert "expected an offer, got no offer" in failed[0].text
    assert "✓" in held[0].text and "✗" in failed[0].text
    _shoot(browser, shots, "playground")


def test_the_audit_page_verifies_on_demand(
    browser: WebDriver, played: tuple[Live, Report], shots: Path
) -> None:
    live, _ = played
    browser.set_window_size(1280, 900)
    browser.get(f"{live.url}/console/audit")
    assert int(browser.find_element(By.ID, "record-count").text) >= 10
    browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    assert "The log verifies" in browser.find_element(By.ID, "verdict").text
    _shoot(browser, shots, "audit")


def test_a_post_without_its_csrf_token_is_refused(
    browser: WebDriver, played: tuple[Live, Report]
) -> None:
    live, _ = played
    browser.get(f"{live.url}/console/playground")
    if browser.find_elements(By.ID, "token"):  # signed out (run alone, or the session ended)
        _sign_in(browser, live, OPERATOR_TOKEN)
        browser.get(f"{live.url}/console/playground")
    WebDriverWait(browser, 15).until(lambda b: b.find_elements(By.ID, "scenario"))
    browser.execute_script(
        "document.querySelector('main form input[name=csrf_token]').remove();"
        "document.getElementById('scenario').value = 'name: x\\nevents:\\n  - {at: 0, say: hi}';"
    )
    page = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    WebDriverWait(browser, 15).until(staleness_of(page))  # the answer's page, not the form's
    # The new document may still be loading: read it only once it holds the answer.
    settled = WebDriverWait(browser, 15, ignored_exceptions=(WebDriverException,))
    settled.until(lambda b: "csrf_token" in b.find_element(By.CSS_SELECTOR, "p.alert").text)
    assert "403" in browser.find_element(By.TAG_NAME, "h1").text
    assert "csrf_token" in browser.find_element(By.CSS_SELECTOR, "p.alert").text


def test_keyboard_labels_and_a_phone_screen(
    browser: WebDriver, played: tuple[Live, Report], shots: Path
) -> None:
    live, _ = played
    browser.set_window_size(1280, 900)
    browser.get(f"{live.url}/console/turns")
    # The first Tab reaches the skip link, which moves the focus to the content.
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
    focused = browser.switch_to.active_element
    assert focused.text == "Skip to content"
    focused.send_keys(Keys.ENTER)
    assert browser.switch_to.active_element.get_attribute("id") == "main"
    # Every visible form control has a label.
    unlabelled = browser.execute_script(
        "return [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]"
        ".filter(e => e.labels.length === 0).map(e => e.name)"
    )
    assert unlabelled == []
    # A phone: nothing wider than the screen.
    browser.set_window_size(390, 844)
    browser.get(f"{live.url}/console/turns")
    overflow = browser.execute_script(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0
    _shoot(browser, shots, "phone")
    browser.set_window_size(1280, 900)
