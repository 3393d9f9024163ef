"""The run report and the ``/admin`` page: the tiles' numbers are the run log's, hostile values render inert, the
file needs no network, and the page is off without credentials and refuses wrong ones."""

from __future__ import annotations

import base64
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlalchemy import func, select, update
from starlette.applications import Starlette
from typer.testing import CliRunner

from connector.admin.history import run_summary
from connector.admin.overview import Overview, collect, health_facts, overview_source
from connector.admin.page import AdminAccess, admin_routes
from connector.admin.render import render_report
from connector.cli import app
from connector.settings import AdminConfig, Settings
from connector.store import Store, open_store
from connector.store.tables import decisions, runs
from tests.fakes import FakeCrm
from tests.integration.test_sync_run import sync

TOKEN = "a-token-of-thirty-two-characters"
SCRIPT = "<script>alert(1)</script>"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def fill(store: Store) -> None:
    """Three runs of one CRM: a first full run, an incremental one closing e-mail for two people, and one whose
    write of a record the CRM refuses."""
    crm = FakeCrm.seeded(60)
    sync(crm, store, full=True)
    for record_id in ("003000000000001", "003000000000002"):
        crm.edit(record_id, HasOptedOutOfEmail=True, Email_Allowed__c=True)
    sync(crm, store)
    crm.reject_on_write["003000000000003"] = "UNABLE_TO_LOCK_ROW"
    crm.edit("003000000000003", DoNotCall=True)
    sync(crm, store)


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = open_store(store_url)
    fill(opened)
    yield opened
    opened.close()


def overview(store: Store) -> Overview:
    return collect(store, ["salesforce"], now=NOW, schedule="0 2 * * *", time_zone="Europe/Amsterdam")


def tile(page: str, crm: str, name: str) -> str:
    section = page.split(f'data-crm="{crm}"', 1)[1]
    found = re.search(rf'data-tile="{name}">.*?<span class="value[^"]*">(.*?)</span></div>', section, re.S)
    assert found, name
    return re.sub(r"<[^>]+>", "", found.group(1)).strip()


def test_the_tiles_show_the_run_log_and_the_current_decisions(store: Store) -> None:
    page = render_report(overview(store))
    last = run_summary(store.runs.recent("salesforce", limit=1)[0])
    assert last["failed"] == 1, "the third run's refused write is counted"
    assert tile(page, "salesforce", "read") == str(last["read"])
    assert tile(page, "salesforce", "written") == str(last["written"])
    assert tile(page, "salesforce", "failed") == "1"
    assert tile(page, "salesforce", "managed") == "60"
    latest = [store.audit.history("salesforce", f"003{i:012d}")[-1].decision for i in range(60)]
    backlog = sum(decision["review_needed"] for decision in latest)
    assert 0 < backlog < 60 and tile(page, "salesforce", "review") == str(backlog)
    assert tile(page, "salesforce", "next-run") == "2026-03-02 01:00 UTC", "02:00 in Amsterdam"
    assert "UNABLE_TO_LOCK_ROW" in page, "errors by code"
    assert page.count('data-chart="runs"') == 1 and page.count("<svg") == 2


def test_a_flag_transition_that_opens_a_channel_is_highlighted(store: Store) -> None:
    with store.engine.begin() as db:
        newest = db.execute(select(func.max(runs.c.id))).scalar_one()
        db.execute(
            update(runs).where(runs.c.id == newest).values(
                counts={"read": 1, "transitions": {"email_allowed: false→true": 4, "do_not_cold_call: false→true": 2}}
            )
        )  # fmt: skip
    page = render_report(overview(store))
    opened = re.search(r'<tr class="permissive"[^>]*><td>(.*?)</td><td class="n">(\d+)</td>', page)
    assert opened and opened.groups() == ("email_allowed: false→true", "4")
    assert page.count('class="permissive"') == 1, "closing a channel is not highlighted"


def test_values_from_the_crm_and_the_store_render_inert(store: Store) -> None:
    with store.engine.begin() as db:
        newest = db.execute(select(func.max(runs.c.id))).scalar_one()
        db.execute(
            update(runs).where(runs.c.id == newest).values(
                counts={"read": 1, "errors": {SCRIPT: 1}, "message": SCRIPT, "transitions": {SCRIPT: 1}}
            )
        )  # fmt: skip
        first = db.execute(select(decisions.c.id)).first()
        assert first is not None
        db.execute(update(decisions).where(decisions.c.id == first.id).values(lawful_use=SCRIPT))
    page = render_report(overview(store))
    assert "<script" not in page.lower(), "no script element, not even pygal's"
    assert page.count("&lt;script&gt;") >= 3, "shown as text: error code, message, transition"
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.split('data-chart="categories"', 1)[1], (
        "category label"
    )


def test_the_report_file_needs_no_network(store: Store, store_url: str, tmp_path: Path) -> None:
    path = tmp_path / "report.html"
    result = CliRunner().invoke(app, ["report", "--html", str(path), "--store", store_url])
    assert result.exit_code == 0, result.output
    page = path.read_text(encoding="utf-8")
    assert "data-tile=" in page and "<svg" in page
    attributes = re.findall(r'\s(?:src|href|xlink:href|action|data)\s*=\s*["\']([^"\']*)', page)
    urls = re.findall(r"url\(([^)]*)\)", page)
    assert [ref for ref in [*attributes, *urls] if not ref.startswith("#")] == [], "nothing is loaded"
    assert "<link" not in page and "@import" not in page


@contextmanager
def client(store: Store, access: AdminAccess | None) -> Iterator[httpx.Client]:
    """The admin routes served by uvicorn on a loopback port, and a client of them."""
    app = Starlette(routes=admin_routes(lambda: overview(store), access))
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive(), "the server did not start"
        time.sleep(0.005)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:
            yield http
    finally:
        server.should_exit = True
        thread.join(10)


def test_the_page_is_off_without_credentials(store: Store) -> None:
    assert AdminAccess.from_settings(AdminConfig()) is None
    with client(store, None) as http:
        assert http.get("/admin").status_code == 404
        assert "off" in http.get("/").text


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": f"Bearer {TOKEN[:-1]}x"},
        {"Authorization": f"Bearer {TOKEN}{TOKEN}"},
        {"Authorization": f"Basic {TOKEN}"},
        basic("admin", "wrong password"),
        basic("someone", "a long password"),
        {"Authorization": "Basic !!not-base64"},
    ],
)
def test_a_wrong_token_or_password_is_refused(store: Store, headers: dict[str, str]) -> None:
    access = AdminAccess(token=TOKEN, username="admin", password="a long password")
    with client(store, access) as http:
        response = http.get("/admin", headers=headers)
    assert response.status_code == 401 and "data-tile" not in response.text
    assert response.headers["WWW-Authenticate"].startswith("Basic realm=")


@pytest.mark.parametrize("headers", [{"Authorization": f"Bearer {TOKEN}"}, basic("admin", "a long password")])
def test_the_right_token_or_password_opens_the_page(store: Store, headers: dict[str, str]) -> None:
    access = AdminAccess(token=TOKEN, username="admin", password="a long password")
    with client(store, access) as http:
        response = http.get("/admin", headers=headers)
        assert "/admin" in http.get("/").text
    assert response.status_code == 200 and 'data-tile="written"' in response.text
    assert "script-src" not in response.headers["Content-Security-Policy"]
    assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert response.headers["Cache-Control"] == "no-store"


def test_admin_settings_take_a_user_with_a_password_or_neither() -> None:
    with pytest.raises(ValueError, match="both"):
        AdminConfig(username="admin")
    assert AdminConfig(token=TOKEN).enabled and not AdminConfig().enabled


def test_health_names_the_newest_run_and_the_next_scheduled_one(store: Store) -> None:
    facts = health_facts(store, schedule="30 1 * * *", time_zone="UTC", now=NOW)
    newest = store.runs.recent(limit=1)[0]
    assert facts["last_run"] == {
        "crm": "salesforce", "kind": newest.kind, "outcome": "completed", "started_at": newest.started_at.isoformat()
    }  # fmt: skip
    assert facts["next_run"] == "2026-03-02T01:30:00+00:00"


def test_the_page_gathers_the_counts_again_only_when_they_are_older_than_their_limit(store: Store) -> None:
    times = [NOW, NOW + timedelta(seconds=10), NOW + timedelta(seconds=31)]
    source = overview_source(
        Settings(), store, ["salesforce"], clock=lambda: times[0], max_age=timedelta(seconds=30)
    )
    first = source()
    times.pop(0)
    assert source() is first, "within 30 s: the same counts"
    times.pop(0)
    again = source()
    assert again is not first and again.generated_at == NOW + timedelta(seconds=31)


def test_the_page_names_the_processes_settling_webhook_events_now(store: Store) -> None:
    from connector.store import NewEvent

    new = [NewEvent(f"k{i}", "Contact", f"003{i:012d}", "change") for i in range(5)]
    store.queue.enqueue("salesforce", new, now=NOW)
    lease = timedelta(minutes=5)
    store.queue.claim(now=NOW, limit=3, lease=lease, crm="salesforce", owner="worker-a:41:worker")
    store.queue.claim(now=NOW, limit=1, lease=lease, crm="salesforce", owner="worker-b:42:worker")
    assert overview(store).crms[0].claimed == {"worker-a:41:worker": 3, "worker-b:42:worker": 1}
    page = render_report(overview(store))
    claims = page.split('class="claims"', 1)[1].split("</table>", 1)[0]
    assert "worker-a:41:worker" in claims and "worker-b:42:worker" in claims
    later = collect(store, ["salesforce"], now=NOW + 2 * lease, schedule="0 2 * * *", time_zone="UTC")
    assert later.crms[0].claimed == {}, "a claim whose lease ended is nobody's any more"
