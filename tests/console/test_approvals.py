"""Deciding tool calls in the console: the approvals inbox (an admin approves another user's refund in one click)
and a run's own page (its owner denies with a reason, the live events show the run go on), each checked through
the API: the run's end, the order, who decided."""

from __future__ import annotations

import asyncio
from typing import Any

from playwright.async_api import Page, expect

from tests.console.conftest import Console

BOB = "bob@example.com"  # owns order 3, shipped: a refund the offline rules ask approval for
ADMIN = "admin@example.com"
FINISHED = ("succeeded", "failed", "cancelled", "timed_out")


def chat(console: Console, email: str, message: str, thread_id: str | None = None) -> dict[str, Any]:
    with console.server.client(console.users[email].key) as client:
        body = {"agent": "support", "message": message, "thread_id": thread_id}
        response = client.post("/v1/chat", json=body)
        assert response.status_code == 200, response.text
        reply: dict[str, Any] = response.json()
        return reply


async def finished_run(console: Console, email: str, run_id: str) -> dict[str, Any]:
    with console.server.client(console.users[email].key) as client:
        for _ in range(200):
            run: dict[str, Any] = client.get(f"/v1/runs/{run_id}").json()
            if run["status"] in FINISHED:
                return run
            await asyncio.sleep(0.05)
    raise AssertionError(f"run {run_id} did not finish: {run}")


def order_status(console: Console, email: str, order_id: int) -> str:
    with console.server.client(console.users[email].key) as client:
        orders: dict[int, str] = {order["id"]: order["status"] for order in client.get("/demo/orders").json()}
    return orders[order_id]


def refund_step(console: Console, email: str, run_id: str) -> dict[str, Any]:
    with console.server.client(console.users[email].key) as client:
        steps = client.get(f"/v1/runs/{run_id}/steps").json()
    step: dict[str, Any] = next(s for s in steps if s["tool_name"] == "refund_order")
    return step


async def test_an_admin_approves_a_refund_from_the_inbox_in_one_click(console: Console) -> None:
    first = chat(console, BOB, "What is the status of order 3?")
    asked = chat(console, BOB, "Please refund order 3", first["thread_id"])
    assert asked["status"] == "requires_action"
    run_id = asked["run_id"]

    page = await console.open(ADMIN)
    await expect(page.locator("#approvals-waiting")).to_have_text("1 waiting")  # the menu says one waits
    await page.get_by_role("link", name="Approvals").click()
    item = page.locator("li.approval").filter(has=page.get_by_role("link", name=f"run {run_id}"))
    await expect(item.get_by_role("heading", level=2)).to_have_text(f"refund_order for {BOB}")
    await expect(item.locator("pre.json")).to_contain_text('"order_id": 3')
    await item.get_by_text("The conversation").click()
    conversation = item.locator("ol.conversation")
    await expect(conversation).to_contain_text("What is the status of order 3?")
    await expect(conversation).to_contain_text("Please refund order 3")
    await console.screenshot(page, "approvals")

    await item.get_by_role("button", name="Approve").click()
    decided = page.locator("li.approval.decided")
    await expect(decided).to_contain_text("Approved by you.")
    await expect(page.get_by_role("button", name="Approve")).to_have_count(0)
    await page.reload()
    await expect(page.locator("#approvals-waiting")).to_have_text("")  # none waits now

    run = await finished_run(console, BOB, run_id)
    assert run["status"] == "succeeded"
    assert "Order #3 has been refunded" in run["output"]
    assert order_status(console, BOB, 3) == "refunded"
    step = refund_step(console, BOB, run_id)
    assert step["approved"] is True
    assert step["decided_by"] == console.users[ADMIN].user_id


async def test_the_owner_denies_on_the_run_page_and_a_key_without_runs_write_cannot(console: Console) -> None:
    asked = chat(console, BOB, "Please refund order 3")
    run_id = asked["run_id"]
    with console.server.client(console.users[BOB].key) as client:
        read_only = client.post("/v1/keys", json={"name": "read only", "scopes": []}).json()["key"]

    page = await console.open()
    await console.sign_in(page, read_only)
    await page.goto(f"/console/runs/{run_id}")
    pending = page.locator("li.approval")
    await pending.get_by_role("button", name="Approve").click()
    await expect(page.get_by_role("alert")).to_contain_text("lacks the runs:write scope")
    with console.server.client(console.users[BOB].key) as client:
        assert client.get(f"/v1/runs/{run_id}").json()["status"] == "requires_action"

    page = await console.open(BOB)
    await page.goto(f"/console/runs/{run_id}")
    # The status line is the live region; the text streamed token by token is not one (it would flood).
    await expect(page.get_by_role("status").filter(has_text="Following")).to_have_attribute("aria-live", "polite")
    assert await page.locator(".live-text").get_attribute("aria-live") is None
    pending = page.locator("li.approval")
    await pending.get_by_label("Reason").fill("the parcel is still in transit")
    await pending.get_by_role("button", name="Deny").click()
    # The live events show the run go on; at its end the page shows its final status and output.
    await expect(page.locator("#live-state")).to_have_text("The run ended: succeeded.")
    await expect(page.locator(".live-text")).to_contain_text("The refund was not made.")
    await expect(page.locator("#run-status")).to_have_text("succeeded")
    await expect(page.locator("li.step-tool_call")).to_contain_text("denied")

    run = await finished_run(console, BOB, run_id)
    assert run["status"] == "succeeded"
    assert "the parcel is still in transit" in run["output"]
    assert order_status(console, BOB, 3) == "shipped"
    step = refund_step(console, BOB, run_id)
    assert step["approved"] is False
    assert step["decision_reason"] == "the parcel is still in transit"
    assert step["decided_by"] == console.users[BOB].user_id


def pending(console: Console, run_id: str) -> bool:
    """Whether the run still waits for its refund's decision, undecided (as the API says)."""
    with console.server.client(console.users[BOB].key) as client:
        status = client.get(f"/v1/runs/{run_id}").json()["status"]
    return bool(status == "requires_action" and refund_step(console, BOB, run_id)["approved"] is None)


async def test_on_another_users_paused_run_a_typed_reason_stays_and_enter_decides_nothing(console: Console) -> None:
    run_id = chat(console, BOB, "Please refund order 3")["run_id"]
    page = await console.open(ADMIN)
    await page.clock.install()  # the page's timers, run on by the test
    await page.goto(f"/console/runs/{run_id}")
    reason = page.locator("li.approval").get_by_label("Reason")
    await reason.fill("wrong address")
    await page.clock.run_for(4_000)  # nothing reloads the form while the run waits for a decision
    await asyncio.sleep(0.4)
    await expect(reason).to_have_value("wrong address")

    await reason.press("Enter")  # neither Approve nor Deny
    await asyncio.sleep(0.4)
    assert pending(console, run_id)
    await expect(reason).to_have_value("wrong address")

    await page.locator("li.approval").get_by_role("button", name="Deny").click()
    await expect(page.locator("li.approval.decided")).to_contain_text("Denied by you: “wrong address”.")
    await finished_run(console, BOB, run_id)
    step = refund_step(console, BOB, run_id)
    assert (step["approved"], step["decision_reason"]) == (False, "wrong address")
    assert step["decided_by"] == console.users[ADMIN].user_id


async def post_form(page: Page, extra: dict[str, str]) -> tuple[int, str]:
    """Sends the page's decision form as a browser without JavaScript would: its method, its action."""
    form = page.locator("form.decide")
    assert await form.get_attribute("method") == "post"
    action = await form.get_attribute("action")
    assert action is not None
    fields: dict[str, str] = await form.evaluate("form => Object.fromEntries(new FormData(form))")
    response = await page.request.post(action, form={**fields, **extra}, max_redirects=0)
    return response.status, response.headers.get("location", "")


async def test_the_decision_form_works_without_javascript(console: Console) -> None:
    first = chat(console, BOB, "Please refund order 3")["run_id"]
    page = await console.open(BOB)
    await page.goto("/console/approvals")
    assert await post_form(page, {"decision": "deny", "reason": "no"}) == (303, "/console/approvals")
    assert (await finished_run(console, BOB, first))["status"] == "succeeded"
    assert refund_step(console, BOB, first)["decision_reason"] == "no"

    second = chat(console, BOB, "Please refund order 3")["run_id"]
    await page.goto(f"/console/runs/{second}")
    assert await post_form(page, {"decision": "approve"}) == (303, f"/console/runs/{second}")
    await finished_run(console, BOB, second)
    assert refund_step(console, BOB, second)["approved"] is True
    assert order_status(console, BOB, 3) == "refunded"
