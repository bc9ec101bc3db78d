"""Knowledge search over real HTTP and PostgreSQL: full-text ranking with stemming and highlighted snippets, the
tag filter, and hybrid search (full-text and vector ranks fused) where pgvector is installed."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.fixtures.http import assert_error
from tests.knowledge.conftest import ADMIN, ALICE, Kb, add

POLICIES = {
    "Refunds": (
        "# Refunds\n\nA shipped order can be refunded once it comes back to us. Refunds go to the card you paid "
        "with within 5 business days.\n\n## Cancelled orders\n\nOrders cancelled before shipping are never charged."
    ),
    "Shipping": (
        "# Shipping\n\nWe ship orders from our warehouse within two days. Shipping is free above 50 euros; "
        "tracking numbers arrive by e-mail."
    ),
    "Warranty": "# Warranty\n\nKeyboards carry a two-year warranty against defects in materials and workmanship.",
}


def add_policies(client: httpx.Client, tag: str = "policies") -> dict[str, int]:
    return {
        title: add(client, title=title, text=text, format="markdown", tags=[tag])["id"]
        for title, text in POLICIES.items()
    }


def search(client: httpx.Client, q: str, **params: Any) -> dict[str, Any]:
    response = client.get("/v1/knowledge/search", params={"q": q, **params})
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_full_text_search_ranks_the_best_passage_first_with_a_highlighted_snippet(kb: Kb) -> None:
    with kb.client() as client:
        ids = add_policies(client)
        found = search(client, "refund for a shipped order", tag="policies")
        assert found["mode"] == "full_text"
        assert found["note"]  # it says why it is full-text only
        assert found["embedding_models"] == []
        results = found["results"]
        assert results[0]["id"] == f"{ids['Refunds']}:1"
        assert results[0]["title"] == "Refunds"
        assert results[0]["heading"] == "Refunds"  # the title, said once though the first heading repeats it
        assert "**refunded**" in results[0]["snippet"]
        assert "**shipped**" in results[0]["snippet"]
        assert results[0]["ranks"] == {"full_text": 1, "vector": None}
        scores = [r["score"] for r in results]
        assert scores == sorted(scores, reverse=True)
        assert scores[0] > 0
        # Stemming: "refunds" finds "refunded"; a heading counts ("Cancelled orders").
        assert search(client, "refunds", tag="policies")["results"][0]["document_id"] == ids["Refunds"]
        cancelled = search(client, "cancelled orders", tag="policies")["results"]
        assert cancelled[0]["id"] == f"{ids['Refunds']}:2"
        # Web-search syntax: a phrase, and a word left out.
        assert [r["id"] for r in search(client, '"two-year warranty"', tag="policies")["results"]] == [
            f"{ids['Warranty']}:1"
        ]
        shipping = {r["document_id"] for r in search(client, "shipping -refunded", tag="policies")["results"]}
        assert shipping == {ids["Shipping"]}
        assert search(client, "the of and", tag="policies")["results"] == []  # only stop words: nothing to look for


def test_the_tag_filter_and_the_limit(kb: Kb) -> None:
    with kb.client() as client:
        add_policies(client, tag="set-a")
        add_policies(client, tag="set-b")
        both = {r["document_id"] for r in search(client, "orders", limit=50)["results"]}
        assert len(both & {row[0] for row in kb.sql("SELECT id FROM knowledge_documents WHERE NOT shared")}) == 4
        only_b = search(client, "orders", tag="set-b")["results"]
        tagged = {row[0] for row in kb.sql("SELECT id FROM knowledge_documents WHERE 'set-b' = ANY(tags)")}
        assert len({r["document_id"] for r in only_b}) == 2
        assert {r["document_id"] for r in only_b} <= tagged
        assert len(search(client, "orders", tag="set-a", limit=1)["results"]) == 1
        bad: list[dict[str, str | int]] = [
            {"q": ""},
            {"q": "   "},
            {"q": "x" * 501},
            {"q": "a", "limit": 0},
            {"q": "a", "tag": "Bad"},
        ]
        for params in bad:
            assert_error(client.get("/v1/knowledge/search", params=params), 422, "validation_error")


def test_hybrid_search_fuses_full_text_and_vector_ranks(make_kb: Any) -> None:
    kb: Kb = make_kb(embedding_model="hashing")
    if not kb.pgvector():
        pytest.skip("this PostgreSQL has no pgvector (the external test one): hybrid search cannot run here")
    with kb.client() as client:
        ids = add_policies(client)
        stored = kb.sql("SELECT DISTINCT model, dim FROM knowledge_embeddings")
        assert stored == [("hashing:256", 256)]
        chunks = kb.sql("SELECT count(*) FROM knowledge_chunks")[0][0]
        assert kb.sql("SELECT count(*) FROM knowledge_embeddings")[0][0] == chunks

        found = search(client, "refunded shipped order", tag="policies")
        assert found["mode"] == "hybrid"
        assert found["note"] is None
        assert found["embedding_models"] == ["hashing:256"]
        top = found["results"][0]
        assert top["id"] == f"{ids['Refunds']}:1"
        assert top["ranks"]["full_text"] == 1
        assert top["ranks"]["vector"] is not None
        assert top["score"] == pytest.approx(1 / 61 + 1 / (60 + top["ranks"]["vector"]), abs=1e-6)

        # "shipment" shares no stem with "shipping" (no full-text match), only word pieces (the vector's).
        lexical = search(client, "shipment", tag="policies")
        assert lexical["mode"] == "hybrid"
        assert lexical["results"], lexical
        assert lexical["results"][0]["document_id"] == ids["Shipping"]
        assert lexical["results"][0]["ranks"] == {"full_text": None, "vector": 1}


def test_without_pgvector_search_says_it_is_full_text_only(make_kb: Any) -> None:
    kb: Kb = make_kb(embedding_model="hashing")
    if kb.pgvector():
        pytest.skip("this PostgreSQL has pgvector (the embedded one): see the hybrid test")
    with kb.client() as client:
        ids = add_policies(client)
        found = search(client, "refunded shipped order", tag="policies")
    assert found["mode"] == "full_text"
    assert "pgvector is not installed" in found["note"]
    assert found["results"][0]["id"] == f"{ids['Refunds']}:1"
    assert kb.sql("SELECT count(*) FROM knowledge_embeddings") == [(0,)]  # nothing embedded for nothing


def test_an_admin_embeds_existing_chunks_after_the_model_changes(make_kb: Any) -> None:
    before: Kb = make_kb()
    with before.client() as client:
        add_policies(client)
    after: Kb = make_kb(embedding_model="hashing:64")
    with after.client(ALICE) as alice, after.client(ADMIN) as admin:
        assert_error(alice.post("/v1/knowledge/embeddings/refresh"), 403, "permission_denied")
        response = admin.post("/v1/knowledge/embeddings/refresh")
        assert response.status_code == 200, response.text
        chunks = after.sql("SELECT count(*) FROM knowledge_chunks")[0][0]
        if not after.pgvector():
            assert response.json() == {"model": "hashing:64", "embedded": 0, "total_chunks": chunks}
            return
        assert response.json() == {"model": "hashing:64", "embedded": chunks, "total_chunks": chunks}
        assert after.sql("SELECT DISTINCT model, dim FROM knowledge_embeddings") == [("hashing:64", 64)]
        assert admin.post("/v1/knowledge/embeddings/refresh").json()["embedded"] == 0  # nothing left to do
        assert search(alice, "shipment")["mode"] == "hybrid"
