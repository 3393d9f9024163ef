"""The run report and ``/admin`` in a real browser: Debian's chromium driven by Playwright, against a real
``lawful-crm serve`` whose store holds a few runs. The tiles show what ``lawful-crm runs --json`` says, the charts
render, nothing is fetched from anywhere else, and the page refuses a missing or wrong token.

``make test`` installs chromium when it is missing; without it this module is skipped. With
``LAWFUL_CRM_UPDATE_DOCS=1`` the screenshot replaces ``docs/admin-report.png`` (the README shows it).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from connector.store import open_store
from tests.integration.test_admin_page import fill
from tests.integration.test_webhook_serve import LAWFUL_CRM, serving, write_config

CHROMIUM = Path("/usr/bin/chromium")
TOKEN = "a-token-of-thirty-two-characters"
SCREENSHOT = Path(__file__).parents[2] / "docs" / "admin-report.png"

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium (make test installs it)"
)
playwright = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """A store with three runs of one CRM, and a configuration that opens /admin with a token."""
    folder = tmp_path_factory.mktemp("admin")
    store_path = folder / "store.db"
    store = open_store(f"sqlite:///{store_path}")
    fill(store)
    store.close()
    config = write_config(folder / "lawful-crm.toml", store_path, run_worker=False)
    config.write_text(
        config.read_text(encoding="utf-8") + f'\n[admin]\ntoken = "{TOKEN}"\n', encoding="utf-8"
    )
    yield config, store_path


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright.sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield launched
        launched.close()


def runs_json(config: Path) -> list[dict[str, object]]:
    shown = subprocess.run(
        [LAWFUL_CRM, "runs", "--json", "--config", str(config)], capture_output=True, text=True, check=True
    )
    return [json.loads(line) for line in shown.stdout.splitlines()]


def tile(page: object, name: str) -> str:
    return str(page.locator(f'[data-crm="salesforce"] [data-tile="{name}"] .value').inner_text()).strip()  # type: ignore[attr-defined]


def test_the_admin_page_shows_the_run_log_in_a_browser(browser: object, setup: tuple[Path, Path]) -> None:
    config, _ = setup
    shown = runs_json(config)
    newest = shown[0]
    drawn = sorted(
        str(value)
        for run in shown
        for value in (run["read"], run["written"], run["flags"]["opened"], run["flags"]["closed"])  # type: ignore[index]
    )
    with serving(config) as served:
        context = browser.new_context(  # type: ignore[attr-defined]
            extra_http_headers={"Authorization": f"Bearer {TOKEN}"}, viewport={"width": 1280, "height": 900}
        )
        page = context.new_page()
        requested: list[str] = []
        page.on("request", lambda request: requested.append(request.url))
        response = page.goto(f"{served.base}/admin")
        assert response is not None and response.status == 200
        assert tile(page, "read") == f"{newest['read']:,}"
        assert tile(page, "written") == f"{newest['written']:,}"
        assert tile(page, "failed") == f"{newest['failed']:,}" == "1"
        assert tile(page, "last-run").startswith(f"#{newest['id']} ")
        runs_chart = page.locator('figure[data-chart="runs"] svg')
        box = runs_chart.bounding_box()
        assert box is not None and box["width"] > 300 and box["height"] > 100, "the chart is drawn"
        assert runs_chart.locator("text", has_text="records read").count() >= 1, "its legend"
        assert page.locator('figure[data-chart="runs"] svg .rect').count() == 3 * 4, (
            "4 bars for each of 3 runs"
        )
        values = runs_chart.locator("text.value").all_text_contents()
        assert sorted(value.replace(",", "") for value in values) == drawn, "the bars carry the runs' numbers"
        assert page.locator('figure[data-chart="categories"] svg .rect').count() >= 2
        assert page.locator("table.runs tr[data-run]").count() == 3
        assert requested == [f"{served.base}/admin"], "the page fetches nothing more"
        health = httpx.get(f"{served.base}/healthz").json()
        assert health["last_run"]["outcome"] == newest["outcome"] and health["next_run"]
        shot = page.screenshot(full_page=True)
        assert shot.startswith(b"\x89PNG")
        if os.environ.get("LAWFUL_CRM_UPDATE_DOCS") == "1":
            SCREENSHOT.write_bytes(shot)
        context.close()


@pytest.mark.parametrize("token", [None, "not-the-token-of-thirty-two-chars"])
def test_the_admin_page_refuses_a_browser_without_the_token(
    browser: object, setup: tuple[Path, Path], token: str | None
) -> None:
    config, _ = setup
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with serving(config) as served:
        context = browser.new_context(extra_http_headers=headers)  # type: ignore[attr-defined]
        page = context.new_page()
        response = page.goto(f"{served.base}/admin")
        assert response is not None and response.status == 401
        assert page.locator("[data-tile]").count() == 0
        context.close()


def test_the_report_file_opens_offline(browser: object, setup: tuple[Path, Path], tmp_path: Path) -> None:
    config, _ = setup
    report = tmp_path / "report.html"
    subprocess.run([LAWFUL_CRM, "report", "--html", str(report), "--config", str(config)], check=True)
    [newest, *_] = runs_json(config)
    context = browser.new_context(offline=True)  # type: ignore[attr-defined]
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(report.as_uri())
    assert tile(page, "written") == f"{newest['written']:,}"
    assert page.locator('figure[data-chart="runs"] svg .rect').count() == 12
    assert requested == [report.as_uri()], "a file that needs nothing else"
    context.close()
