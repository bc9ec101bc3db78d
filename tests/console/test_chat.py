"""The console's chat page in a browser: a streamed answer with its tool call, the thread kept and shown again,
a refund approved (and one denied) in place, the sidekick's context, another user's thread. Each effect is checked
through the API with the user's own key."""

from __future__ import annotations

import re
from typing import Any

from playwright.async_api import Page, expect

from tests.console.conftest import Console

ALICE = "alice@example.com"  # owns order 2 (processing)
BOB = "bob@example.com"  # owns order 3 (shipped): the one refund the offline rules can make, after approval
THREAD_URL = re.compile(r"/console/chat\?thread=([0-9a-f-]{36})$")
# Counts the pieces of text the page is given as the reply streams (the page reads `Switchboard.stream` per call).
COUNT_DELTAS = """() => {
  window.deltas = 0;
  const stream = window.Switchboard.stream;
  window.Switchboard.stream = (path, body, onEvent, options) =>
    stream(path, body, (type, data, id) => {
      if (type === "text_delta") window.deltas += 1;
      onEvent(type, data, id);
    }, options);
}"""


def api_get(console: Console, email: str, path: str) -> Any:
    with console.server.client(console.users[email].key) as client:
        response = client.get(path)
        response.raise_for_status()
        return response.json()


def order_status(console: Console, email: str, order_id: int) -> str:
    statuses: dict[int, str] = {o["id"]: o["status"] for o in api_get(console, email, "/demo/orders")}
    return statuses[order_id]


async def say(page: Page, message: str) -> None:
    await page.get_by_label("Message").fill(message)
    await page.get_by_role("button", name="Send").click()


async def test_a_streamed_answer_with_its_tool_call_and_the_thread_kept(console: Console) -> None:
    page = await console.open(ALICE)
    await page.goto("/console/chat")
    await expect(page.get_by_label("Agent")).to_have_value("support")
    await expect(page.get_by_role("option", name="support (offline rules)")).to_have_count(1)
    await page.evaluate(COUNT_DELTAS)
    await say(page, "What is the status of order 2?")

    transcript = page.get_by_role("log", name="Conversation")
    card = transcript.locator("details.tool", has=page.locator("code", has_text="get_order"))
    await expect(card).to_be_visible()
    reply = transcript.locator(".msg-assistant .text")
    await expect(reply).to_contain_text("processing")
    await expect(page).to_have_url(THREAD_URL)
    await expect(page.get_by_role("button", name="Send")).to_be_enabled()  # the turn is over
    assert await page.evaluate("window.deltas") > 1  # the reply came in pieces
    await card.locator("summary").click()
    await expect(card.locator(".tool-result pre")).to_contain_text('"status": "processing"')
    threads = page.get_by_role("complementary", name="Your threads")
    await expect(threads.get_by_role("link", name="What is the status of order 2?")).to_be_visible()
    await card.locator("summary").click()  # folded again: the README's picture shows the answer beside its card
    await console.screenshot(page, "chat")

    match = THREAD_URL.search(page.url)
    assert match is not None
    thread_id = match.group(1)
    stored = api_get(console, ALICE, f"/v1/threads/{thread_id}/messages")["items"]
    assert [m["role"] for m in stored] == ["user", "assistant", "tool", "assistant"]
    assert stored[0]["text"] == "What is the status of order 2?"

    await page.reload()  # the history, rendered by the server
    await expect(transcript.locator(".msg-user .text")).to_have_text("What is the status of order 2?")
    await expect(transcript.locator("details.tool code.tool-name")).to_have_text("get_order")
    await expect(reply).to_contain_text("processing")
    run_link = transcript.locator(".msg-user").get_by_role("link", name="run")
    run_id = (await run_link.get_attribute("href") or "").removeprefix("/console/runs/")
    assert api_get(console, ALICE, f"/v1/runs/{run_id}")["thread_id"] == thread_id
    await expect(threads.get_by_role("link", name="What is the status of order 2?")).to_have_attribute(
        "aria-current", "page"
    )


async def test_a_refund_denied_then_approved_in_place(console: Console) -> None:
    page = await console.open(BOB)
    await page.goto("/console/chat?agent=support")
    transcript = page.get_by_role("log", name="Conversation")

    await say(page, "Please refund order 3")
    waiting = transcript.locator("details.tool.pending")
    await expect(waiting).to_contain_text("refund_order")
    await expect(page).to_have_url(THREAD_URL)
    await say(page, "Show me all my orders")  # refused while the refund waits (409), in the API's words
    await expect(page.get_by_role("alert")).to_contain_text("is waiting for approval of: refund_order")
    await expect(page.get_by_label("Message")).to_have_value("Show me all my orders")
    await page.reload()  # the call still waits, and the page says so
    await expect(waiting).to_contain_text("waiting for approval")
    await waiting.get_by_label("Reason (optional, told to the agent if you deny)").fill("still in transit")
    await waiting.get_by_role("button", name="Deny").click()
    await expect(transcript).to_contain_text("The user denied this tool call: still in transit")
    await expect(page.get_by_role("button", name="Send")).to_be_enabled()
    assert order_status(console, BOB, 3) == "shipped"

    await say(page, "Please refund order 3")
    await expect(waiting).to_have_count(1)
    await waiting.get_by_role("button", name="Approve").click()
    await expect(transcript).to_contain_text("Order #3 has been refunded")
    await expect(transcript.locator("details.tool .tool-state").last).to_have_text("done")
    assert order_status(console, BOB, 3) == "refunded"
    runs = api_get(console, BOB, "/v1/runs?agent=support")["items"]
    assert [run["status"] for run in runs] == ["succeeded", "succeeded"]


async def test_the_sidekick_context_is_checked_then_sent(console: Console) -> None:
    page = await console.open(ALICE)
    await page.goto("/console/chat?agent=shop-sidekick")
    await expect(page.get_by_label("Agent")).to_have_value("shop-sidekick")
    context = page.get_by_label("Context (JSON object)")

    await context.fill('{"page": "order", "order_id": 2')
    await expect(page.locator("#context-status")).to_contain_text("not valid JSON")
    await say(page, "When did I order this?")
    await expect(page.get_by_role("alert")).to_contain_text("Nothing was sent")
    await expect(page.get_by_label("Message")).to_have_value("When did I order this?")
    assert api_get(console, ALICE, "/v1/threads")["items"] == []  # no turn, no thread

    await context.fill('{"page": "order", "order_id": 2}')
    await page.get_by_role("button", name="Send").click()
    transcript = page.get_by_role("log", name="Conversation")
    await expect(transcript.locator(".msg-assistant .text")).to_contain_text("order #2 (Widget A)")
    await expect(page).to_have_url(THREAD_URL)
    match = THREAD_URL.search(page.url)
    assert match is not None
    assert api_get(console, ALICE, f"/v1/threads/{match.group(1)}")["context"] == {"page": "order", "order_id": 2}

    await context.fill('{"page": "orders"}')  # saved to the thread at once
    await page.get_by_role("button", name="Save context").click()
    await expect(page.locator("#context-status")).to_have_text("Saved: the next turn sees it.")
    assert api_get(console, ALICE, f"/v1/threads/{match.group(1)}")["context"] == {"page": "orders"}


async def test_another_users_thread_is_not_found(console: Console) -> None:
    with console.server.client(console.users[BOB].key) as client:
        created = client.post("/v1/threads", json={"agent": "support"})
        assert created.status_code == 201
        bobs = created.json()["id"]
    page = await console.open(ALICE)
    response = await page.goto(f"/console/chat?thread={bobs}")
    assert response is not None
    assert response.status == 404
    await expect(page.get_by_role("alert")).to_contain_text(f"Thread {bobs} not found")
    response = await page.goto("/console/chat?thread=not-a-thread")
    assert response is not None
    assert response.status == 404
    owner = await console.open(BOB, width=390, height=844)  # a phone: the chat first, the threads below, no wider
    response = await owner.goto(f"/console/chat?thread={bobs}")
    assert response is not None
    assert response.status == 200
    threads = await owner.get_by_role("complementary", name="Your threads").bounding_box()
    talk = await owner.get_by_role("log", name="Conversation").bounding_box()
    assert threads is not None
    assert talk is not None
    assert talk["y"] + talk["height"] <= threads["y"]
    assert await owner.evaluate("document.documentElement.scrollWidth") <= 390
    menu = owner.get_by_role("button", name="Menu")  # the pages' links fold away behind it
    await expect(owner.get_by_role("link", name="Runs")).to_be_hidden()
    await menu.click()
    await expect(menu).to_have_attribute("aria-expanded", "true")
    await owner.get_by_role("link", name="Runs").click()
    await expect(owner.get_by_role("heading", name="Runs", level=1)).to_be_visible()


async def test_a_reloaded_thread_follows_the_turns_still_at_work(console: Console) -> None:
    """Another client's turns on the thread: a refund waiting for approval and a question queued behind it. The
    page shows both; approving the refund lets the queued turn run, and its reply streams into the page."""
    with console.server.client(console.users[BOB].key) as client:
        refund = client.post("/v1/chat", json={"agent": "support", "message": "Please refund order 3"})
        assert refund.status_code == 200, refund.text
        first = refund.json()
        queued = client.post(
            "/v1/runs",
            json={
                "agent": "support",
                "message": "Show me all my orders",
                "thread_id": first["thread_id"],
                "multitask_strategy": "enqueue",
            },
        )
        assert queued.status_code == 202, queued.text
        assert first["status"] == "requires_action"
        assert queued.json()["status"] == "queued"
    page = await console.open(BOB)
    await page.goto(f"/console/chat?thread={first['thread_id']}")
    transcript = page.get_by_role("log", name="Conversation")
    await expect(transcript.locator(".msg-user .text")).to_have_text(["Please refund order 3", "Show me all my orders"])
    await transcript.get_by_role("button", name="Approve").click()
    await expect(transcript).to_contain_text("Order #3 has been refunded")
    await expect(transcript.locator("details.tool code.tool-name")).to_have_text(["refund_order", "list_orders"])
    await expect(transcript.locator(".msg-assistant .text").last).to_contain_text("#3")
    runs = api_get(console, BOB, f"/v1/runs?thread_id={first['thread_id']}")["items"]
    assert [run["status"] for run in runs] == ["succeeded", "succeeded"]
    assert order_status(console, BOB, 3) == "refunded"


async def test_a_call_decided_elsewhere_updates_the_open_chat(console: Console) -> None:
    page = await console.open(BOB)
    await page.goto("/console/chat?agent=support")
    transcript = page.get_by_role("log", name="Conversation")
    await say(page, "Please refund order 3")
    await expect(transcript.locator("details.tool.pending")).to_contain_text("refund_order")
    run = api_get(console, BOB, "/v1/runs?agent=support")["items"][0]
    call = run["pending_approvals"][0]["tool_call_id"]
    with console.server.client(console.users["admin@example.com"].key) as admin:  # from the inbox, say
        decided = admin.post(f"/v1/runs/{run['id']}/approvals", json={"tool_call_id": call, "approve": True})
        assert decided.status_code == 200, decided.text
    # The open page notices, and shows the thread as it is now, the answer included: no button left to press.
    await expect(transcript).to_contain_text("Order #3 has been refunded")
    await expect(transcript.get_by_role("button", name="Approve")).to_have_count(0)
    assert order_status(console, BOB, 3) == "refunded"
