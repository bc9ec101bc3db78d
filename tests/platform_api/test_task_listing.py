"""GET /tasks: newest first, filtered by type and by derived status in any combination (never a 500), paged."""

from __future__ import annotations

import itertools
from typing import Any

from tests.platform_api.conftest import BOB, Platform, settled_run


def ids(page: dict[str, Any]) -> list[str]:
    return [task["id"] for task in page["items"]]


def test_filters_in_every_combination_and_pages(start_platform: Any) -> None:
    platform: Platform = start_platform()
    alice = platform.client()

    def create(body: dict[str, Any]) -> dict[str, Any]:
        response = alice.post("/tasks", json=body)
        assert response.status_code == 201, response.text
        task: dict[str, Any] = response.json()
        return task

    done = create({"task_type": "delegation", "prompt": "What is 1 + 1?"})
    settled_run(alice, done["latest_run"]["id"])
    research = create({"task_type": "research", "prompt": "What is 2 + 2?", "agent": "assistant"})
    settled_run(alice, research["latest_run"]["id"])
    disabled = create({"task_type": "delegation", "prompt": "What is 3 + 3?"})
    settled_run(alice, disabled["latest_run"]["id"])
    alice.post(f"/tasks/{disabled['id']}/disable")
    scheduled = create({"task_type": "scheduled", "prompt": "report", "schedule_expression": "@hourly"})
    paused = create({"task_type": "scheduled", "prompt": "report", "schedule_expression": "@daily"})
    alice.post(f"/tasks/{paused['id']}/disable")
    triggered = create({"task_type": "triggered", "prompt": "events", "trigger_config": {}})
    platform.client(BOB).post("/tasks", json={"task_type": "delegation", "prompt": "What is 5 + 5?"})

    everything = [triggered, paused, scheduled, disabled, research, done]  # newest first
    expected = {
        task["id"]: (task["task_type"], status)
        for task, status in [
            (done, "completed"),
            (research, "completed"),
            (disabled, "disabled"),
            (scheduled, "active"),
            (paused, "disabled"),
            (triggered, "active"),
        ]
    }
    listed = alice.get("/tasks").json()
    assert ids(listed) == [task["id"] for task in everything]
    assert {task["id"]: (task["task_type"], task["status"]) for task in listed["items"]} == expected

    types = [None, "delegation", "scheduled", "triggered", "research"]
    statuses = [None, "pending", "running", "awaiting_approval", "completed", "failed", "cancelled", "idle"]
    statuses += ["active", "disabled"]
    for task_type, status in itertools.product(types, statuses):
        filters = {k: v for k, v in {"task_type": task_type, "status": status}.items() if v is not None}
        response = alice.get("/tasks", params=filters)
        assert response.status_code == 200, (filters, response.text)
        want = [
            task["id"]
            for task in everything
            if task_type in (None, expected[task["id"]][0]) and status in (None, expected[task["id"]][1])
        ]
        assert ids(response.json()) == want, filters

    pages: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = alice.get("/tasks", params=params).json()
        pages.extend(ids(page))
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == [task["id"] for task in everything]

    bad: list[dict[str, str | int]] = [
        {"status": "sleeping"},
        {"task_type": "cleaning"},
        {"limit": 0},
        {"cursor": "not-a-cursor"},
    ]
    for params in bad:
        response = alice.get("/tasks", params=params)
        assert response.status_code == 422, (params, response.text)
