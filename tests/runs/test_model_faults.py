"""Model requests that fail the way providers do — 429, 500, 503, a connection dropped mid-stream, a stream that
just stops early — are made again from the run's last written step: runs still succeed, no tool call runs twice,
and the `retry` event lets a follower drop the void text so none is shown twice. The model is a fake
OpenAI-compatible server on loopback, seeded, so every run of this test draws the same faults."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from pydantic_ai.models import override_allow_model_requests

from switchboard.models.runs import FINAL, RunStatus
from tests.fakes.openai_server import (
    Cut,
    FakeOpenAI,
    RecordedRequest,
    Reply,
    Step,
    ToolCall,
    fail,
    fake_openai_server,
)
from tests.fixtures.demo import seed_demo
from tests.fixtures.http import Event, create_run, read_events, wait_for_status
from tests.fixtures.server import LiveServer

MODEL = "openai-chat:fake-model"
ALICE = "alice@example.com"


def bumper_model(request: RecordedRequest) -> Reply:
    """What a well-behaved model answers the `bumper` agent: call bump(key=<prompt>), then report its result."""
    results = list(request.tool_results().values())
    if results:
        return Reply(text=f"Bumped {results[-1]}, and that is the whole answer.")
    return Reply(tool_calls=[ToolCall("bump", {"key": request.user_prompts()[-1]})])


class Faulty:
    """Answers like `bumper_model`, but fails `rate` of the requests, drawn from a seeded generator: 429, 500,
    503 (with `retry-after-ms: 1`, so the SDK's own retries are quick), the connection dropped after a few
    chunks, or the stream ended early (no finish reason, no [DONE]), in equal shares."""

    def __init__(self, rate: float, seed: int) -> None:
        self.rate = rate
        self.random = random.Random(seed)  # noqa: S311 (a reproducible draw, not a secret)
        self.lock = threading.Lock()
        self.drawn: list[str] = []

    def __call__(self, request: RecordedRequest) -> Reply | Cut | Any:
        good = bumper_model(request)
        with self.lock:
            draw, after = self.random.random(), self.random.randint(1, 4)
        share = self.rate / 5
        kind = "ok" if draw >= self.rate else ("429", "500", "503", "drop", "cut")[int(draw // share)]
        with self.lock:
            self.drawn.append(kind)
        if kind in ("429", "500", "503"):
            return fail(int(kind), retry_after_ms=1)
        if kind in ("drop", "cut"):
            return Cut(good, after=after, drop=kind == "drop")
        return good


def serve_fake(step: Step) -> Iterator[FakeOpenAI]:
    with fake_openai_server(default=step) as fake, override_allow_model_requests(True):
        yield fake


def start(runs_server: Callable[..., LiveServer], fake: FakeOpenAI, **overrides: Any) -> httpx.Client:
    settings = {
        "model": MODEL,
        "llm_base_url": fake.base_url,
        "llm_api_key": "test-key",
        "llm_max_retries": 2,
        "model_retry_backoff_seconds": 0.01,
        **overrides,
    }
    server = runs_server(**settings)
    return server.client(seed_demo(server.settings)[ALICE].key)


def shown_text(events: list[Event]) -> str:
    """The text a follower shows: each `text_delta` appended, the last `void_chars` dropped at each `retry`."""
    text = ""
    for event in events:
        if event.type == "text_delta":
            text += event.data["delta"]
        elif event.type == "retry":
            text = text[: len(text) - event.data["void_chars"]]
    return text


def wait_all(client: httpx.Client, run_ids: list[str], timeout: float) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    pending = set(run_ids)
    while pending and time.monotonic() < deadline:
        for run_id in list(pending):
            if client.get(f"/v1/runs/{run_id}").json()["status"] in FINAL:
                pending.discard(run_id)
        time.sleep(0.2)
    assert not pending, f"{len(pending)} runs did not settle"
    return [client.get(f"/v1/runs/{run_id}").json() for run_id in run_ids]


@pytest.fixture
def faulty() -> Iterator[tuple[FakeOpenAI, Faulty]]:
    behaviour = Faulty(rate=0.3, seed=20261127)
    yield from ((fake, behaviour) for fake in serve_fake(behaviour))


def test_at_30_percent_faults_runs_succeed_and_nothing_repeats_or_shows_twice(
    runs_server: Callable[..., LiveServer], faulty: tuple[FakeOpenAI, Faulty], effects: Callable[[], dict[str, int]]
) -> None:
    fake, behaviour = faulty
    client = start(runs_server, fake, worker_concurrency=8)
    keys = [f"key{i}" for i in range(120)]
    run_ids = [create_run(client, "bumper", key)["id"] for key in keys]

    runs = wait_all(client, run_ids, timeout=120)

    succeeded = [run for run in runs if run["status"] == RunStatus.SUCCEEDED]
    assert len(succeeded) / len(runs) >= 0.99, [run["error"] for run in runs if run not in succeeded]
    # Every kind of fault was drawn, often: the retries were exercised, not dodged.
    assert all(behaviour.drawn.count(kind) >= 5 for kind in ("429", "500", "503", "drop", "cut")), behaviour.drawn
    # No tool call ran twice: each run bumped its own key exactly once, whatever was retried around it.
    bumped = effects()
    assert all(bumped[run["message"]] == 1 for run in succeeded)
    assert set(bumped.values()) == {1}
    for run in succeeded:
        assert run["output"] == f"Bumped {run['message']} to 1, and that is the whole answer."
    retried = 0
    for run in succeeded:
        events = read_events(client, run["id"])
        retried += sum(event.type == "retry" for event in events)
        # A follower that honours `retry` shows the answer once, exactly as it is.
        assert shown_text(events) == run["output"], [(e.type, e.data) for e in events]
    assert retried >= 20


def test_a_dropped_stream_is_retried_its_text_voided_and_the_failure_in_the_timeline(
    runs_server: Callable[..., LiveServer], effects: Callable[[], dict[str, int]]
) -> None:
    answer = Reply(text="Bumped once, and this sentence arrives whole in the end.")
    script: list[Step] = [
        lambda request: bumper_model(request),
        Cut(answer, after=4, drop=True),  # text streamed, then the connection drops
        Cut(answer, after=3, drop=False),  # text streamed, then the stream just ends: incomplete, not an answer
        answer,
    ]
    for fake in serve_fake(fail(500, "The script is exhausted.")):
        fake.add(*script)
        client = start(runs_server, fake)
        run = wait_for_status(client, create_run(client, "bumper", "figs")["id"], timeout=20)
        events = read_events(client, run["id"])
        steps = client.get(f"/v1/runs/{run['id']}/steps").json()

    assert run["status"] == RunStatus.SUCCEEDED, run
    assert run["output"] == answer.text  # not the cut-short text
    assert effects() == {"figs": 1}
    retries = [event.data for event in events if event.type == "retry"]
    assert [r["retry"] for r in retries] == [1, 2]
    assert all(r["void_chars"] > 0 for r in retries)
    assert "peer closed connection without sending complete message body" in retries[0]["error"]["message"]
    assert "ended before the model finished it" in retries[1]["error"]["message"]
    naive = "".join(event.data["delta"] for event in events if event.type == "text_delta")
    assert naive != answer.text  # without honouring `retry`, text would show twice...
    assert shown_text(events) == answer.text  # ...honouring it, once
    failed = [s for s in steps if s["kind"] == "model_request" and s["status"] == "failed"]
    assert [s["result"]["error"]["message"] for s in failed] == [r["error"]["message"] for r in retries]
    assert [s["status"] for s in steps if s["kind"] == "model_request"] == [
        "succeeded",
        "failed",
        "failed",
        "succeeded",
    ]
    status_running = next(e for e in events if e.type == "status" and e.data["status"] == RunStatus.RUNNING)
    assert status_running.data["worker"] == run["worker"]  # which worker ran it is on the run and in its claim
    assert run["worker"]


def test_when_retries_run_out_the_run_fails_with_the_cause_not_a_repr(
    runs_server: Callable[..., LiveServer], effects: Callable[[], dict[str, int]]
) -> None:
    for fake in serve_fake(Cut(Reply(text="Never finished, this sentence."), after=2, drop=True)):
        client = start(runs_server, fake, model_retries=1)
        run = wait_for_status(client, create_run(client, "bumper", "figs")["id"], timeout=20)
        steps = client.get(f"/v1/runs/{run['id']}/steps").json()
        requests = len(fake.completion_requests)

    assert run["status"] == RunStatus.FAILED
    assert run["error"]["type"] == "model_error"
    assert run["error"]["message"] == (
        f"The model {MODEL!r} failed: the connection to the provider failed: peer closed connection without "
        "sending complete message body (incomplete chunked read)."
    )
    assert requests == 2  # the first, and one retry (a drop is never retried by the SDK itself)
    assert [s["status"] for s in steps] == ["failed", "failed"]
    assert steps[0]["result"]["retry_in_seconds"] > 0
    assert steps[1]["result"]["retry_in_seconds"] is None
