"""The schedules page in a browser: the cron field said in words as it is typed, a schedule created that then
fires, run now, pause and resume, and another user's schedule out of reach; each effect checked through the API."""

from __future__ import annotations

from typing import Any

import httpx
from playwright.async_api import Page, expect

from tests.console.conftest import Console

ALICE = "alice@example.com"
BOB = "bob@example.com"


def alice_api(console: Console, email: str = ALICE) -> httpx.Client:
    return console.server.client(console.users[email].key)


def create_via_api(console: Console, **fields: Any) -> dict[str, Any]:
    body = {"agent": "support", "message": "What is the status of order 1?", "cron": "0 9 * * 1-5", **fields}
    with alice_api(console) as api:
        response = api.post("/v1/schedules", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def post_from_page(page: Page, path: str) -> int:
    """A console POST as the page's own scripts make it (the session cookie and the CSRF token)."""
    status: int = await page.evaluate(
        "path => fetch(path, {method: 'POST', headers: {'X-CSRF-Token': Switchboard.csrf()}}).then(r => r.status)",
        path,
    )
    return status


async def test_a_schedule_created_in_the_browser_says_when_it_fires_then_fires(console: Console) -> None:
    page = await console.open(ALICE)
    await page.goto("/console/schedules")
    await page.get_by_label("Message").fill("What is the status of order 1?")
    cron_field = page.get_by_label("Cron expression")
    preview = page.locator("#cron-preview")

    await cron_field.press_sequentially("0 9 * * 1-5")
    await expect(preview).to_contain_text("At 09:00 on Monday through Friday (UTC); next: ")
    await expect(preview).to_contain_text(", then ")
    await cron_field.fill("0 9 * *")
    await cron_field.press("End")  # a key up: what the field listens to
    await expect(preview).to_contain_text("is not a cron expression")

    await cron_field.fill("* * * * * *")  # seconds first: a tick every second, so the test sees one come
    await cron_field.press("End")
    await expect(preview).to_contain_text("Every second (UTC); next: ")
    await page.get_by_role("button", name="Create schedule").click()
    row = page.locator("#schedule-rows tr")
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text("Every second")
    await expect(page.locator("#flash")).to_contain_text("Schedule created")

    with alice_api(console) as api:
        (schedule,) = api.get("/v1/schedules").json()["items"]
    assert schedule["cron"] == "* * * * * *"
    assert schedule["agent"] == "support"
    assert schedule["enabled"] is True
    assert schedule["next_fire_at"] is not None

    # It fires: the schedule's page lists the tick's run as it comes (the page polls).
    await row.get_by_role("link", name="its runs").click()
    await expect(page.get_by_role("heading", name="Schedule of support")).to_be_visible()
    ticks = page.locator("#schedule-runs tbody tr").filter(has_not_text="run now")
    await expect(ticks.first).to_be_visible(timeout=10_000)

    # Run now: one more run, outside the ticks, linked from the notice.
    await page.get_by_role("button", name="Run now").click()
    await expect(page.locator("#flash")).to_contain_text("Run started")
    run_link = page.locator("#flash a")
    run_id = (await run_link.inner_text()).removeprefix("run ")
    await page.get_by_role("button", name="Pause").click()
    await expect(page.get_by_role("button", name="Resume")).to_be_visible()
    with alice_api(console) as api:
        runs = api.get(f"/v1/schedules/{schedule['id']}/runs", params={"limit": 100}).json()["items"]
        shown = api.get(f"/v1/schedules/{schedule['id']}").json()
    assert any(r["scheduled_for"] is not None for r in runs)  # a tick's run
    now_run = next(r for r in runs if r["id"] == run_id)
    assert now_run["scheduled_for"] is None  # the run-now run
    assert shown["enabled"] is False

    # The list again, its last run shown, and the form's preview of another expression (the README's picture).
    await page.get_by_role("link", name="← Schedules").click()
    await expect(page.locator(f"#schedule-{schedule['id']}")).to_contain_text("last run")
    await page.get_by_text("New schedule").click()
    await page.get_by_label("Cron expression").fill("30 2 1 * *")
    await page.get_by_label("Cron expression").press("End")
    await expect(preview).to_contain_text("At 02:30 on the first day of every month (UTC); next: ")
    await page.evaluate("window.scrollTo(0, 0)")
    await console.screenshot(page, "schedules")


async def test_pause_and_resume_change_the_schedule(console: Console) -> None:
    schedule = create_via_api(console)
    page = await console.open(ALICE)
    await page.goto("/console/schedules")
    row = page.locator(f"#schedule-{schedule['id']}")
    await expect(row).to_contain_text("active")
    await row.get_by_role("button", name="Pause").click()
    await expect(row.get_by_role("button", name="Resume")).to_be_visible()
    await expect(row).to_contain_text("paused")
    with alice_api(console) as api:
        paused = api.get(f"/v1/schedules/{schedule['id']}").json()
    assert paused["enabled"] is False
    assert paused["next_fire_at"] is None

    await row.get_by_role("button", name="Resume").click()
    await expect(row.get_by_role("button", name="Pause")).to_be_visible()
    with alice_api(console) as api:
        resumed = api.get(f"/v1/schedules/{schedule['id']}").json()
    assert resumed["enabled"] is True
    assert resumed["next_fire_at"] is not None


async def test_another_users_schedule_is_not_found(console: Console) -> None:
    schedule = create_via_api(console)
    page = await console.open(BOB)
    await page.goto("/console/schedules")
    await expect(page.locator("#schedule-rows tr")).to_have_count(0)
    response = await page.goto(f"/console/schedules/{schedule['id']}")
    assert response is not None
    assert response.status == 404
    await page.goto("/console/schedules")
    for action in ("pause", "run"):
        assert await post_from_page(page, f"/console/schedules/{schedule['id']}/{action}") == 404
    with alice_api(console) as api:
        after = api.get(f"/v1/schedules/{schedule['id']}").json()
        runs = api.get(f"/v1/schedules/{schedule['id']}/runs").json()["items"]
    assert after["enabled"] is True
    assert runs == []
