"""The auditors' console in a real headless Chromium, against a real gateway process.

Decisions are scripted through the API (with crisis referrals appended to the log, as
the crisis protocol will record them), then the console is driven like an auditor would:
sign in, filter, open a decision, verify the chain. Screenshots are saved (to
``CONSOLE_SCREENSHOT_DIR`` when set, else the test's tmp folder) for a human to look at.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from guardrail.audit import AuditTrail
from guardrail.config import Settings
from guardrail.gateway import audit_options
from guardrail.models import Decision, Kind, OutreachRequest, Reason, Verdict
from tests.audit_support import ADMIN_KEY, AUDIT_KEY, TEXT, bearer
from tests.gateways import FIRST_USE_S, gateway_processes

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
AUDITOR_KEY = "console-auditor-key-8Hq2Zt5Wn"
DAY0 = datetime(2026, 11, 14, tzinfo=UTC)

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.support import expected_conditions as ec  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
    if os.environ.get("CI"):
        raise RuntimeError("chromium and chromium-driver are missing (.ci/run installs them)")
    pytest.skip("needs the Debian chromium and chromium-driver packages", allow_module_level=True)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1440,1100",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):
        options.add_argument(arg)
    # An explicit driver path: Selenium Manager never looks for (or downloads) one.
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def script_decisions(url: str) -> dict[str, Any]:
    """A week of two bots: blocks, allows, replies and quiet-hour deferrals."""
    made: dict[str, Any] = {"user_first": []}
    with httpx.Client(base_url=url, headers=bearer(ADMIN_KEY), timeout=FIRST_USE_S) as client:

        def check(bot: str, user_id: str, ts: datetime, **extra: Any) -> dict[str, Any]:
            body = {"bot_id": bot, "user_id": user_id, "channel": "messenger", "text": TEXT,
                    "ts": ts.isoformat(), **extra}  # fmt: skip
            response = client.post("/v1/outreach/check", json=body)
            assert response.status_code == 200, response.text
            data: dict[str, Any] = response.json()
            return data

        def say(bot: str, user: str, ts: datetime, text: str = "great pick, thanks") -> None:
            body = {"type": "user_message", "bot_id": bot, "user_id": user,
                    "ts": ts.isoformat(), "text": text}  # fmt: skip
            assert client.post("/v1/events", json=body).status_code == 200

        for i in range(7):
            day = DAY0 + timedelta(days=i)
            first = check("maestro-cinema", f"new-{i}", day + timedelta(hours=9))
            made["user_first"].append(first["decision_id"])
            fan, night = f"fan-{i}", f"night-{i}"
            for back in range(5, 0, -1):
                say("nova-books", fan, day - timedelta(days=back) + timedelta(hours=10))
                say("maestro-cinema", night, day - timedelta(days=back) + timedelta(hours=10))
            check("nova-books", fan, day + timedelta(hours=12))
            check("nova-books", fan, day + timedelta(hours=12, minutes=5))
            say("nova-books", fan, day + timedelta(hours=12, minutes=10))
            check("nova-books", fan, day + timedelta(hours=12, minutes=15), kind="reply")
            # On a channel without a reply window (Messenger's 24 h would refuse it first).
            check("maestro-cinema", night, day + timedelta(hours=23), user={"timezone": "UTC"},
                  channel="webhook")  # fmt: skip
    return made


def append_crisis_referrals(audit_db: Path) -> None:
    """Crisis referrals as the crisis protocol records them (rule ``crisis_resources``)."""
    trail = AuditTrail.open(audit_options(Settings(audit_db=str(audit_db), audit_key=AUDIT_KEY)))

    async def not_stored(text: str, **where: object) -> None:
        """As in a process without a PII pipeline (others in this test run may load one)."""
        return None

    trail.redactor = not_stored
    for i, day in enumerate((2, 4, 4, 6)):
        when = DAY0 + timedelta(days=day, hours=15)
        req = OutreachRequest(bot_id="nova-books", user_id=f"care-{i}", channel="sms", text=TEXT)  # type: ignore[arg-type]
        decision = Decision(
            decision_id=f"crisis-{i}",
            verdict=Verdict.REWRITE,
            text=TEXT + "\n\nIf you are struggling, help is available.",
            kind=Kind.REPLY,
            reasons=[
                Reason(
                    rule="crisis_resources",
                    detail="crisis resources appended (test)",
                    policy="default",
                    effect="rewrite",
                )
            ],
            scores={"self_harm": 0.91, "manipulation": 0.04},
            policy="default",
            policy_version="sha256:" + "ab" * 32,
            decided_at=when,
        )
        asyncio.run(trail.record_decision("default", req, decision))
    asyncio.run(trail.close())


def shot(driver: WebDriver, tmp_path: Path, name: str) -> Path:
    target = Path(os.environ.get("CONSOLE_SCREENSHOT_DIR") or tmp_path) / name
    target.parent.mkdir(parents=True, exist_ok=True)
    assert driver.save_screenshot(str(target))
    return target


def test_console(browser: WebDriver, tmp_path: Path) -> None:
    config = tmp_path / "guardrail.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "trust_client_time": True,
                "audit_key": AUDIT_KEY,
                "keys": [
                    {"name": "auditor", "tenant": "default", "role": "auditor", "key": AUDITOR_KEY}
                ],
            }
        )
    )
    audit_db = tmp_path / "audit.db"  # tests/gateways.py points GUARDRAIL_AUDIT_DB here
    append_crisis_referrals(audit_db)
    state = str(tmp_path / "state.db")
    with gateway_processes(1, "--db", state, "--config", str(config), log_dir=tmp_path) as [url]:
        made = script_decisions(url)
        page = httpx.get(f"{url}/console")
        assert (
            page.status_code == 200
            and "default-src 'none'" in page.headers["content-security-policy"]
        )
        run_console(browser, url, made, tmp_path)
    shutil.rmtree(tmp_path / "chromium-profile", ignore_errors=True)


def run_console(driver: WebDriver, url: str, made: dict[str, Any], tmp_path: Path) -> None:
    wait = WebDriverWait(driver, 15)
    find = driver.find_element

    driver.get(f"{url}/console")
    wait.until(ec.visibility_of_element_located((By.ID, "key-input")))
    find(By.ID, "key-input").send_keys("not-a-key")
    find(By.ID, "login-button").click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "login-error"), "refused"))
    find(By.ID, "key-input").send_keys(AUDITOR_KEY)
    find(By.ID, "login-button").click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "who-name"), "auditor · tenant default"))
    assert (
        driver.execute_script("return sessionStorage.getItem('guardrail.auditKey')") == AUDITOR_KEY
    )
    wait.until(lambda d: d.find_element(By.ID, "decisions").get_attribute("data-loaded"))
    rows = driver.find_elements(By.CSS_SELECTOR, "#decisions tbody tr")
    assert len(rows) == 7 * 5 + 4  # five decisions a day for a week, four crisis referrals
    assert "(39)" in find(By.ID, "decision-count").text

    # Charts: drawn as inline SVG from the stats API.
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#chart-crisis svg rect.bar-crisis"))
    day_bars = driver.find_elements(By.CSS_SELECTOR, "#chart-verdicts svg rect[class^='v-']")
    assert len(day_bars) > 7
    labels = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "#chart-rules svg text")]
    assert "user_first" in labels and "quiet_hours" in labels and "crisis_resources" in labels
    crisis = driver.find_elements(By.CSS_SELECTOR, "#chart-crisis svg text.value")
    assert [e.text for e in crisis] == ["4"]  # all four in November 2026

    # Verify the chain.
    find(By.ID, "verify-button").click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "verify-result"), "Chain verified"))
    assert "records" in find(By.ID, "verify-result").text
    overview = shot(driver, tmp_path, "console-overview.png")

    # Filter: maestro-cinema's blocks by user_first, then just one day.
    find(By.ID, "filter-bot").send_keys("maestro-cinema")
    Select(find(By.ID, "filter-verdict")).select_by_value("block")
    find(By.ID, "filter-rule").send_keys("user_first")
    find(By.ID, "apply-filters").click()
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#decisions tbody tr")) == 7)
    rows = driver.find_elements(By.CSS_SELECTOR, "#decisions tbody tr")
    assert [r.get_attribute("data-id") for r in rows] == list(reversed(made["user_first"]))
    for r in rows:
        cells = r.find_elements(By.TAG_NAME, "td")
        assert cells[1].text == "maestro-cinema" and cells[5].text == "block"
    assert not find(By.ID, "more").is_displayed()
    find(By.ID, "filter-since").send_keys("2026-11-16")
    find(By.ID, "filter-until").send_keys("2026-11-17")
    find(By.ID, "apply-filters").click()
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#decisions tbody tr")) == 1)
    row = driver.find_element(By.CSS_SELECTOR, "#decisions tbody tr")
    assert row.get_attribute("data-id") == made["user_first"][2]
    assert "(1)" in find(By.ID, "decision-count").text

    # Open it: the whole explanation.
    row.click()
    wait.until(lambda d: d.find_element(By.ID, "detail").get_attribute("data-loaded"))
    detail = find(By.ID, "detail").text
    assert made["user_first"][2] in detail
    assert "user_first" in detail and "the user has never written to this bot" in detail
    assert "sha256:" in detail and "No classifier scores recorded." in detail
    assert find(By.ID, "detail-delivered").text.startswith("not stored")
    assert "new-2" not in detail  # the raw user id never reaches the console
    decision_shot = shot(driver, tmp_path, "console-decision.png")

    # A crisis referral shows its scores; the delivered text is not stored either.
    driver.get(f"{url}/console#/decision/crisis-1")
    wait.until(lambda d: d.find_element(By.ID, "detail").get_attribute("data-loaded") == "crisis-1")
    detail = find(By.ID, "detail").text
    assert "crisis_resources" in detail and "self_harm" in detail and "0.910" in detail
    assert find(By.ID, "detail-delivered").text.startswith("not stored")
    crisis_shot = shot(driver, tmp_path, "console-crisis.png")

    # Back to the list, which kept its filters.
    find(By.ID, "back").click()
    wait.until(ec.visibility_of_element_located((By.ID, "list-view")))
    assert find(By.ID, "filter-bot").get_attribute("value") == "maestro-cinema"

    # Nothing was loaded from anywhere but the gateway.
    resources = driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    assert resources and all(str(r).startswith(url) for r in resources), resources
    for path in (overview, decision_shot, crisis_shot):
        assert path.stat().st_size > 10_000
