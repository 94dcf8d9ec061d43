"""The auditors' console in a real headless Chromium, against a real gateway process.

Decisions are scripted through the API (with crisis referrals appended to the log, as
the crisis protocol will record them), then the console is driven like an auditor would:
sign in, filter, open a decision, verify the chain, search (decision id, user, text hash),
export what the filters select, follow one user's timeline, read the reports and their
charts; then as the operator, across tenants. The browser runs in Asia/Tokyo, so the
local times it shows differ from UTC. Screenshots are saved (to ``CONSOLE_SCREENSHOT_DIR``
when set, else the test's tmp folder) for a human to look at.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import json
import os
import shutil
import time
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
ZONE = "Asia/Tokyo"  # the browser's zone: UTC+9 all year, so local times are exact below
ACME_BOT = "acme-cinema"
ODD_TEXT = "A one-off text, to be found by its hash."
DISTRESS = "Je n'en peux plus, je veux en finir."
DECISIONS = 7 * 5 + 4 + 1  # five a day for a week, four crisis referrals, the odd one

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import StaleElementReferenceException  # noqa: E402
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
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    options.add_experimental_option(
        "prefs",
        {"download.default_directory": str(downloads), "download.prompt_for_download": False},
    )
    # An explicit driver path: Selenium Manager never looks for (or downloads) one.
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    driver.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": ZONE})
    driver.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
    try:
        yield driver
    finally:
        driver.quit()


def script_decisions(url: str) -> dict[str, Any]:
    """A week of two bots: blocks, allows, replies and quiet-hour deferrals; one message of
    its own text; one user (fan-3) who opts out, back in, and writes in distress; and two
    decisions of tenant acme's bot, made by the operator's key naming the tenant."""
    made: dict[str, Any] = {"user_first": []}
    with httpx.Client(base_url=url, headers=bearer(ADMIN_KEY), timeout=FIRST_USE_S) as client:

        def check(bot: str, user_id: str, ts: datetime, **extra: Any) -> dict[str, Any]:
            body = {"bot_id": bot, "user_id": user_id, "channel": "messenger", "text": TEXT,
                    "ts": ts.isoformat(), **extra}  # fmt: skip
            headers = {"X-Guardrail-Tenant": "acme"} if bot == ACME_BOT else {}
            response = client.post("/v1/outreach/check", json=body, headers=headers)
            assert response.status_code == 200, response.text
            data: dict[str, Any] = response.json()
            return data

        def say(bot: str, user: str, ts: datetime, text: str = "great pick, thanks") -> Any:
            body = {"type": "user_message", "bot_id": bot, "user_id": user,
                    "ts": ts.isoformat(), "text": text}  # fmt: skip
            response = client.post("/v1/events", json=body)
            assert response.status_code == 200, response.text
            return response.json()

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
        day3 = DAY0 + timedelta(days=3)
        assert say("nova-books", "fan-3", day3 + timedelta(hours=13), "STOP")["consent"]
        assert say("nova-books", "fan-3", day3 + timedelta(hours=14), "START")["consent"]
        distress = say("nova-books", "fan-3", day3 + timedelta(hours=16), DISTRESS)
        assert distress["crisis"] is True, distress
        made["odd"] = check("nova-books", "odd-1", day3 + timedelta(hours=17), text=ODD_TEXT)
        made["acme"] = [
            check(ACME_BOT, f"acme-{i}", day3 + timedelta(hours=18 + i))["decision_id"]
            for i in range(2)
        ]
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
        req = OutreachRequest(bot_id="nova-books", user_id=f"care-{i}", channel="sms", text=TEXT)
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
                "bots": {ACME_BOT: {"tenant": "acme"}},
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
        run_operator(browser, url, made)
        visits = httpx.get(
            f"{url}/v1/audit/export",
            params={"type": "access"},
            headers={**bearer(ADMIN_KEY), "X-Guardrail-Tenant": "acme"},
        )
        routes = {json.loads(line)["route"] for line in visits.text.splitlines()}
        assert {"/v1/audit/me", "/v1/audit/records", "/v1/outreach/check"} <= routes
    shutil.rmtree(tmp_path / "chromium-profile", ignore_errors=True)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def rows(driver: WebDriver) -> list[Any]:
    return driver.find_elements(By.CSS_SELECTOR, "#decisions tbody tr")


def row_data(driver: WebDriver, name: str) -> list[str]:
    """One data attribute of every row, read at once (the list may be redrawn meanwhile)."""
    script = (
        "return [...document.querySelectorAll('#decisions tbody tr')]"
        ".map(r => r.dataset[arguments[0]])"
    )
    values: list[str] = driver.execute_script(script, name)
    return values


def row_ids(driver: WebDriver) -> list[str]:
    return row_data(driver, "id")


def waiting(driver: WebDriver) -> WebDriverWait[WebDriver]:
    """A wait that reads again when the console redrew what it was reading."""
    return WebDriverWait(driver, 15, ignored_exceptions=(StaleElementReferenceException,))


def downloaded(folder: Path, suffix: str, timeout_s: float = 15) -> Path:
    """The file the browser saved (no partial .crdownload left)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        done = [p for p in folder.glob(f"*{suffix}") if p.stat().st_size]
        if done and not list(folder.glob("*.crdownload")):
            return done[0]
        time.sleep(0.1)
    raise AssertionError(f"no {suffix} download in {folder}: {list(folder.iterdir())}")


def apply(driver: WebDriver, wait: WebDriverWait[WebDriver], expected: int, **fields: str) -> None:
    """Clear the filters, set some, apply, and wait for ``expected`` rows."""
    find = driver.find_element
    find(By.ID, "clear-filters").click()
    for name, value in fields.items():
        box = find(By.ID, f"filter-{name.replace('_', '-')}")
        if box.tag_name == "select":
            Select(box).select_by_value(value)
        else:
            box.send_keys(value)
    find(By.ID, "apply-filters").click()
    wait.until(lambda d: len(row_ids(d)) == expected and not find(By.ID, "list-error").text)


def run_console(driver: WebDriver, url: str, made: dict[str, Any], tmp_path: Path) -> None:
    wait = waiting(driver)
    find = driver.find_element

    # Signed out: no navigation, no sign-out button.
    driver.get(f"{url}/console")
    wait.until(ec.visibility_of_element_located((By.ID, "key-input")))
    assert not find(By.ID, "sign-out").is_displayed() and not find(By.ID, "nav").is_displayed()
    find(By.ID, "key-input").send_keys("not-a-key")
    find(By.ID, "login-button").click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "login-error"), "refused"))
    assert not find(By.ID, "sign-out").is_displayed()
    find(By.ID, "key-input").send_keys(AUDITOR_KEY)
    find(By.ID, "login-button").click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "who-name"), "auditor · auditor"))
    assert find(By.ID, "tenant-name").text == "tenant default"
    assert not find(By.ID, "tenant-pick").is_displayed()  # an auditor reads its tenant only
    assert find(By.ID, "sign-out").is_displayed()
    assert (
        driver.execute_script("return sessionStorage.getItem('guardrail.auditKey')") == AUDITOR_KEY
    )
    wait.until(lambda d: d.find_element(By.ID, "decisions").get_attribute("data-loaded"))
    assert len(row_ids(driver)) == DECISIONS
    assert f"({DECISIONS})" in find(By.ID, "decision-count").text
    assert ACME_BOT not in find(By.ID, "decisions").text  # another tenant's

    # Local time (the browser's zone), UTC on hover.
    assert ZONE in find(By.CSS_SELECTOR, "#decisions thead").text
    stamp = find(By.CSS_SELECTOR, f"tr[data-id='{made['user_first'][2]}'] time")
    assert stamp.text == "2026-11-16 18:00:00"  # 09:00 UTC
    assert stamp.get_attribute("title") == "2026-11-16 09:00:00 UTC"

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

    # Filter: maestro-cinema's blocks by user_first, then one day of the browser's zone.
    apply(driver, wait, 7, bot="maestro-cinema", verdict="block", rule="user_first")
    assert row_ids(driver) == list(reversed(made["user_first"]))
    for r in rows(driver):
        cells = r.find_elements(By.TAG_NAME, "td")
        assert cells[2].text == "maestro-cinema" and cells[6].text == "block"
    assert not find(By.ID, "more").is_displayed()

    # Export what the filters select: the file the browser saves.
    Select(find(By.ID, "export-format")).select_by_value("csv")
    find(By.ID, "export-button").click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "export-status"), "Exported"))
    exported = downloaded(tmp_path / "downloads", ".csv").read_text()
    lines = list(csv.DictReader(io.StringIO(exported)))
    assert [r["id"] for r in lines] == made["user_first"]  # oldest first
    assert {r["rules"] for r in lines} == {"user_first"} and "new-" not in exported

    find(By.ID, "filter-since").send_keys("2026-11-16")
    find(By.ID, "filter-until").send_keys("2026-11-17")
    find(By.ID, "apply-filters").click()
    wait.until(lambda d: len(row_ids(d)) == 1)
    row = rows(driver)[0]
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
    assert "2026-11-16 18:00:00" in detail
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

    # Other record types: the consent changes.
    apply(driver, wait, 2, type="consent")
    assert set(row_data(driver, "type")) == {"consent"}
    assert "opt-out" in find(By.ID, "decisions").text and "opt-in" in find(By.ID, "decisions").text

    # Search: by decision id (opens it), by text hash (the list), by user (the timeline).
    def search(kind: str, value: str) -> None:
        Select(find(By.ID, "search-kind")).select_by_value(kind)
        box = find(By.ID, "search-input")
        box.clear()
        box.send_keys(value)
        find(By.ID, "search-button").click()

    odd = made["odd"]["decision_id"]
    search("decision", odd)
    wait.until(lambda d: d.find_element(By.ID, "detail").get_attribute("data-loaded") == odd)
    find(By.ID, "back").click()
    search("text_hash", ODD_TEXT)  # the message itself: the console asks for its keyed hash
    wait.until(lambda d: row_ids(d) == [odd])
    assert Select(find(By.ID, "filter-type")).first_selected_option.get_attribute("value") == "all"

    search("user", "fan-3")
    wait.until(lambda d: d.find_element(By.ID, "timeline").get_attribute("data-loaded"))
    items = driver.find_elements(By.CSS_SELECTOR, "#timeline-items li")
    types = [i.get_attribute("data-type") for i in items]
    assert types == ["crisis", "consent", "consent", "decision", "decision", "decision"]
    assert find(By.ID, "tile-records").text.startswith("6")
    assert "crises (highest: ideation)" in find(By.ID, "tile-crises").text
    assert "block" in find(By.ID, "tile-decisions").text
    standing = find(By.ID, "timeline-consent").text
    assert "opted in" in standing and "nova-books" in standing
    assert len(driver.find_elements(By.CSS_SELECTOR, "#timeline-chart svg circle.mark")) == 6
    page_text = find(By.TAG_NAME, "body").text
    assert "fan-3" not in page_text and "fan-3" not in driver.current_url
    timeline_shot = shot(driver, tmp_path, "console-timeline.png")
    items[-1].click()  # the oldest: a decision
    wait.until(lambda d: d.find_element(By.ID, "detail").get_attribute("data-loaded"))
    assert "nova-books" in find(By.ID, "detail").text

    # Reports: the list from the registry; SB 243 and opt-outs with their charts.
    find(By.ID, "nav-reports").click()
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#report-select option"))
    names = [
        o.get_attribute("value")
        for o in driver.find_elements(By.CSS_SELECTOR, "#report-select option")
    ]
    assert {"sb243", "opt-outs", "quiet-hours", "manipulation", "dependency", "sensitive"} <= set(
        names
    )
    Select(find(By.ID, "report-select")).select_by_value("sb243")
    find(By.ID, "report-year").send_keys("2026")
    find(By.ID, "report-run").click()
    wait.until(lambda d: d.find_element(By.ID, "report").get_attribute("data-loaded") == "sb243")
    assert find(By.ID, "report-crisis_referrals-total").text.startswith("4")
    month = driver.find_elements(
        By.CSS_SELECTOR, "#report-crisis_referrals-by_month svg text.value"
    )
    assert [e.text for e in month] == ["4"]
    assert driver.find_elements(By.CSS_SELECTOR, "#report-crisis_referrals-by_bot svg rect")
    report_shot = shot(driver, tmp_path, "console-report.png")
    Select(find(By.ID, "report-select")).select_by_value("opt-outs")
    find(By.ID, "report-year").clear()  # all time: opt-outs carry the gateway's own clock
    find(By.ID, "report-run").click()
    wait.until(lambda d: d.find_element(By.ID, "report").get_attribute("data-loaded") == "opt-outs")
    assert find(By.ID, "report-total").text.startswith("1")
    assert driver.find_elements(By.CSS_SELECTOR, "#report table.report-rows time[title$='UTC']")
    # A statute's report: nested sections (the submission, what it rests on) render too.
    Select(find(By.ID, "report-select")).select_by_value("ca-sb243-osp")
    find(By.ID, "report-year").send_keys("2026")
    find(By.ID, "report-run").click()
    wait.until(
        lambda d: d.find_element(By.ID, "report").get_attribute("data-loaded") == "ca-sb243-osp"
    )
    assert "tenant default · 2026-01-01 00:00:00 UTC" in find(By.ID, "report-period").text
    assert "SUBMISSION" in find(By.ID, "report").text.upper()

    # Nothing was loaded from anywhere but the gateway, and no URL carried a raw user id.
    resources = driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    assert resources and all(str(r).startswith(url) for r in resources), resources
    assert not [r for r in resources if "fan-3" in str(r)]
    for path in (overview, decision_shot, crisis_shot, timeline_shot, report_shot):
        assert path.stat().st_size > 10_000

    # Sign out: the sign-in screen again, without the button.
    find(By.ID, "sign-out").click()
    wait.until(ec.visibility_of_element_located((By.ID, "key-input")))
    assert not find(By.ID, "sign-out").is_displayed()


def run_operator(driver: WebDriver, url: str, made: dict[str, Any]) -> None:
    """The operator's key reads one tenant at a time, picked in the header."""
    wait = waiting(driver)
    find = driver.find_element
    find(By.ID, "key-input").send_keys(ADMIN_KEY)
    find(By.ID, "login-button").click()
    wait.until(
        ec.text_to_be_present_in_element((By.ID, "who-name"), "GUARDRAIL_API_KEY · operator")
    )
    picker = Select(find(By.ID, "tenant-select"))
    assert [o.get_attribute("value") for o in picker.options] == ["acme", "default"]
    assert picker.first_selected_option.get_attribute("value") == "default"
    wait.until(lambda d: len(row_ids(d)) == DECISIONS)
    picker.select_by_value("acme")
    wait.until(lambda d: row_ids(d) == list(reversed(made["acme"])))
    assert {r.find_elements(By.TAG_NAME, "td")[2].text for r in rows(driver)} == {ACME_BOT}
    find(By.ID, "clear-filters").click()
    Select(find(By.ID, "filter-type")).select_by_value("access")
    find(By.ID, "apply-filters").click()
    wait.until(lambda d: set(row_data(d, "type")) == {"access"})
    visits = find(By.ID, "decisions").text
    assert "GUARDRAIL_API_KEY (default): GET /v1/audit/records → 200" in visits
    find(By.ID, "sign-out").click()
    wait.until(ec.visibility_of_element_located((By.ID, "key-input")))
