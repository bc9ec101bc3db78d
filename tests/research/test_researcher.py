"""The researcher end to end over real HTTP and PostgreSQL, with its offline rules: the demo's shared help centre
answers "What is your refund policy for shipped orders?" with a report whose every claim cites a chunk that
exists and contains it; progress events come in order; a user's private documents are theirs alone; a limit
hit ends the run with a clear error."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from switchboard.models.runs import RunStatus
from switchboard.research.offline_rules import keywords_of, sub_questions
from tests.fixtures.demo import DemoUser, seed_demo
from tests.fixtures.http import create_run, read_events, wait_for_status
from tests.fixtures.server import LiveServer
from tests.research.helpers import assert_citations_hold

QUESTION = "What is your refund policy for shipped orders?"
ALICE = "alice@example.com"
BOB = "bob@example.com"


@pytest.fixture
def shop(make_server: Callable[..., LiveServer]) -> tuple[LiveServer, dict[str, DemoUser]]:
    server = make_server(workers=1)
    return server, seed_demo(server.settings)


def research(server: LiveServer, key: str, question: str, **fields: Any) -> dict[str, Any]:
    with server.client(key) as client:
        run = create_run(client, "researcher", question, **fields)
        return wait_for_status(client, run["id"], timeout=30)


def test_the_demo_corpus_answers_the_refund_question_with_valid_citations(
    shop: tuple[LiveServer, dict[str, DemoUser]],
) -> None:
    server, people = shop
    run = research(server, people[ALICE].key, QUESTION)
    assert run["status"] == RunStatus.SUCCEEDED, run
    output = run["output"]
    report = output["report"]
    assert report.startswith(f"# {QUESTION}\n")
    assert "Offline rules, not an LLM" in report
    with server.client(people[ALICE].key) as client:
        cited = assert_citations_hold(client, output)
        titles = {s["title"] for s in output["sources"]}
        assert "Refund policy" in titles, output["sources"]
        # The answer carries the policy's substance: shipped orders can be refunded, and a person approves it.
        assert "Shipped and delivered orders can be refunded." in report
        assert "approved" in report
        assert len(cited) >= 2
        refund_doc = next(s["document_id"] for s in output["sources"] if s["title"] == "Refund policy")
        assert client.get(f"/v1/knowledge/documents/{refund_doc}").json()["source_url"].endswith("/help/refunds")

        events = read_events(client, run["id"])
    progress = [e.data for e in events if e.type == "progress"]
    plan = sub_questions(keywords_of(QUESTION), QUESTION)
    assert keywords_of(QUESTION) == ["refund", "policy", "shipped", "orders"]
    assert progress[0] == {"stage": "plan", "sub_questions": plan}
    searches = progress[1 : 1 + 2 * len(plan)]
    assert [(p["stage"], p["query"]) for p in searches] == [
        (stage, query) for query in plan for stage in ("searching", "found")
    ]
    assert all(p["sources"] >= 1 for p in searches if p["stage"] == "found"), searches
    assert [p["stage"] for p in progress[1 + 2 * len(plan) :]] == ["reading", "writing"]
    assert progress[-1] == {"stage": "writing", "citations": len(cited)}
    assert events[-1].type == "end"
    assert max(e.id for e in events if e.type == "progress") < events[-1].id


def test_a_question_asked_with_an_application_context_is_researched_as_asked(
    shop: tuple[LiveServer, dict[str, DemoUser]],
) -> None:
    """The turn's prompt is then the context block and the question: the rules research the question."""
    server, people = shop
    with server.client(people[ALICE].key) as client:
        thread = client.post("/v1/threads", json={"agent": "researcher", "context": {"page": "help"}}).json()
        run = create_run(client, "researcher", QUESTION, thread_id=thread["id"])
        done = wait_for_status(client, run["id"], timeout=30)
    assert done["status"] == RunStatus.SUCCEEDED, done
    assert done["output"]["report"].startswith(f"# {QUESTION}\n")
    assert "Shipped and delivered orders can be refunded." in done["output"]["report"]


def test_a_users_private_document_is_researched_for_them_only(
    shop: tuple[LiveServer, dict[str, DemoUser]],
) -> None:
    server, people = shop
    private = "Alice's refund note: her zeppelin refund was approved on the phone by Dana."
    with server.client(people[ALICE].key) as alice:
        response = alice.post("/v1/knowledge/documents", json={"title": "Zeppelin refund", "text": private})
        assert response.status_code == 201, response.text
        document_id = response.json()["id"]
    question = "Was the zeppelin refund approved?"
    mine = research(server, people[ALICE].key, question)
    assert mine["status"] == RunStatus.SUCCEEDED, mine
    assert f"{document_id}:1" in [s["id"] for s in mine["output"]["sources"]]
    with server.client(people[ALICE].key) as alice:
        assert_citations_hold(alice, mine["output"])

    theirs = research(server, people[BOB].key, question)
    assert theirs["status"] == RunStatus.SUCCEEDED, theirs
    assert document_id not in [s["document_id"] for s in theirs["output"]["sources"]]
    assert "zeppelin" not in theirs["output"]["report"].split("\n", 1)[1].lower().replace(question.lower(), "")


def test_a_question_the_knowledge_base_cannot_answer_says_so_and_cites_nothing(
    shop: tuple[LiveServer, dict[str, DemoUser]],
) -> None:
    server, people = shop
    run = research(server, people[BOB].key, "Quantum chromodynamics lattice gluons?")
    assert run["status"] == RunStatus.SUCCEEDED, run
    assert run["output"]["sources"] == []
    assert "does not answer this question" in run["output"]["report"]
    assert "[" not in run["output"]["report"].split("\n", 1)[1]


@pytest.mark.parametrize(
    ("limits", "error_words"),
    [({"max_tool_calls": 3}, "tool_calls_limit of 3"), ({"max_model_requests": 2}, "request_limit of 2")],
)
def test_a_limit_hit_ends_the_run_with_a_clear_error(
    shop: tuple[LiveServer, dict[str, DemoUser]], limits: dict[str, int], error_words: str
) -> None:
    server, people = shop
    run = research(server, people[ALICE].key, QUESTION, limits=limits)
    assert run["status"] == RunStatus.FAILED, run
    assert run["error"]["type"] == "usage_limit_exceeded"
    assert error_words in run["error"]["message"], run["error"]
    with server.client(people[ALICE].key) as client:
        steps = client.get(f"/v1/runs/{run['id']}/steps").json()
    tool_steps = [s for s in steps if s["kind"] == "tool_call"]
    assert len(tool_steps) <= limits.get("max_tool_calls", 99)
    made = [s for s in steps if s["kind"] == "model_request" and s["status"] == "succeeded"]
    assert len(made) <= limits.get("max_model_requests", 99)
