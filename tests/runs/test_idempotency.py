"""`Idempotency-Key` on the run-creating POSTs: a repeat returns the original answer and creates nothing; a key
reused for another request is a 422; keys are per user; concurrent repeats create exactly one run."""

from __future__ import annotations

import threading
from typing import Any

import httpx

from switchboard.models.runs import RunStatus
from tests.fixtures.demo import DemoUser
from tests.fixtures.http import assert_error, wait_for_status
from tests.fixtures.server import LiveServer

ALICE = "alice@example.com"
BOB = "bob@example.com"
Users = tuple[LiveServer, dict[str, DemoUser]]
BODY = {"agent": "echo", "message": "only once please"}


def post(client: httpx.Client, path: str, body: dict[str, Any], key: str) -> httpx.Response:
    return client.post(path, json=body, headers={"Idempotency-Key": key})


def run_ids(client: httpx.Client) -> list[str]:
    response = client.get("/v1/runs")
    assert response.status_code == 200, response.text
    return [run["id"] for run in response.json()["items"]]


def test_a_repeat_returns_the_original_response(users: Users) -> None:
    server, people = users
    with server.client(people[ALICE].key) as client:
        first = post(client, "/v1/runs", BODY, "order-42")
        assert first.status_code == 202, first.text
        run_id = first.json()["id"]
        wait_for_status(client, run_id)  # the run has moved on; the repeat still answers as the first did
        again = post(client, "/v1/runs", BODY, "order-42")
        assert again.status_code == 202, again.text
        assert again.json() == first.json()
        assert again.json()["status"] == RunStatus.QUEUED
        assert again.headers["location"] == first.headers["location"] == f"/v1/runs/{run_id}"
        assert run_ids(client) == [run_id]
        assert len(client.get("/v1/threads").json()["items"]) == 1


def test_the_same_key_with_another_body_is_422(users: Users) -> None:
    server, people = users
    with server.client(people[ALICE].key) as client:
        first = post(client, "/v1/runs", BODY, "k-1")
        assert first.status_code == 202, first.text
        for other in ({**BODY, "message": "something else"}, {**BODY, "metadata": {"x": 1}}):
            error = assert_error(post(client, "/v1/runs", other, "k-1"), 422, "validation_error")
            assert error["details"][0]["field"] == "Idempotency-Key"
        assert run_ids(client) == [first.json()["id"]]


def test_keys_are_per_user(users: Users) -> None:
    server, people = users
    with server.client(people[ALICE].key) as alice, server.client(people[BOB].key) as bob:
        a = post(alice, "/v1/runs", BODY, "shared-key")
        b = post(bob, "/v1/runs", BODY, "shared-key")
        assert a.status_code == b.status_code == 202, (a.text, b.text)
        assert a.json()["id"] != b.json()["id"]
        assert run_ids(alice) == [a.json()["id"]]
        assert run_ids(bob) == [b.json()["id"]]


def test_a_key_belongs_to_one_route(users: Users) -> None:
    server, people = users
    with server.client(people[ALICE].key) as client:
        first = post(client, "/v1/runs", BODY, "route-key")
        assert first.status_code == 202, first.text
        assert_error(post(client, "/v1/runs/wait", BODY, "route-key"), 422, "validation_error")
        with client.stream("POST", "/v1/runs/stream", json=BODY, headers={"Idempotency-Key": "route-key"}) as response:
            response.read()
            assert_error(response, 422, "validation_error")
        assert run_ids(client) == [first.json()["id"]]


def test_wait_replay_returns_the_same_run(users: Users) -> None:
    server, people = users
    with server.client(people[ALICE].key) as client:
        first = post(client, "/v1/runs/wait", BODY, "wait-key")
        assert first.status_code == 200, first.text
        assert first.json()["status"] == RunStatus.SUCCEEDED
        again = post(client, "/v1/runs/wait", BODY, "wait-key")
        assert again.status_code == 200, again.text
        assert again.json() == first.json()
        assert again.headers["location"] == first.headers["location"]
        assert run_ids(client) == [first.json()["id"]]


def test_concurrent_repeats_create_one_run(users: Users) -> None:
    server, people = users
    n = 10
    barrier = threading.Barrier(n)
    responses: list[httpx.Response | BaseException] = []
    lock = threading.Lock()

    def fire() -> None:
        with server.client(people[ALICE].key) as client:
            barrier.wait()
            try:
                response: httpx.Response | BaseException = post(client, "/v1/runs", BODY, "race-key")
            except BaseException as exc:  # reported below, with the others
                response = exc
            with lock:
                responses.append(response)

    threads = [threading.Thread(target=fire) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert len(responses) == n, responses
    with server.client(people[ALICE].key) as client:
        ids = run_ids(client)
    assert len(ids) == 1, ids
    accepted = [r for r in responses if isinstance(r, httpx.Response) and r.status_code == 202]
    assert accepted, responses
    for response in responses:
        assert isinstance(response, httpx.Response), response
        if response.status_code == 202:
            assert response.json()["id"] == ids[0]
        else:
            assert_error(response, 409, "conflict")


def test_an_invalid_key_is_422(users: Users) -> None:
    server, people = users
    with server.client(people[ALICE].key) as client:
        for key in ("has space", "x" * 201, "y" * 300, ""):
            error = assert_error(post(client, "/v1/runs", BODY, key), 422, "validation_error")
            assert error["details"][0]["field"] == "Idempotency-Key", (key, error)
        assert post(client, "/v1/runs", BODY, "z" * 200).status_code == 202  # the longest valid key
        assert len(run_ids(client)) == 1
