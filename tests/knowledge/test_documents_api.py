"""The knowledge documents API over real HTTP and PostgreSQL: add (JSON and file), chunk, list, get, delete;
bad input refused with nothing stored; documents per user (another's is 404) and shared by admins only."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures.http import assert_error
from tests.knowledge.conftest import ADMIN, ALICE, BOB, Kb, add

GUIDE = """# Returns guide

Intro paragraph about returning things to the shop.

## Shipped orders

An order that has shipped can be returned within 30 days of delivery.

### Labels

Print the prepaid label from your account.

## Damaged items

Send a photo of the damage first.
"""


def stored_documents(kb: Kb, tag: str) -> int:
    return int(kb.sql("SELECT count(*) FROM knowledge_documents WHERE :tag = ANY(tags)", tag=tag)[0][0])


def test_a_markdown_document_is_split_at_its_headings_and_read_back_with_its_chunks(kb: Kb) -> None:
    with kb.client() as client:
        document = add(client, title="Returns", text=GUIDE, format="markdown", tags=["guides", "guides"])
        assert document["tags"] == ["guides"]  # each once
        assert document["owned"] is True
        assert document["shared"] is False
        assert document["chars"] == len(GUIDE)
        doc_id = document["id"]
        chunks = document["chunks"]
        assert [c["id"] for c in chunks] == [f"{doc_id}:{n}" for n in range(1, len(chunks) + 1)]
        assert [(c["heading"], c["text"]) for c in chunks] == [
            ("Returns > Returns guide", "Intro paragraph about returning things to the shop."),
            (
                "Returns > Returns guide > Shipped orders",
                "An order that has shipped can be returned within 30 days of delivery.",
            ),
            ("Returns > Returns guide > Shipped orders > Labels", "Print the prepaid label from your account."),
            ("Returns > Returns guide > Damaged items", "Send a photo of the damage first."),
        ]
        assert document["chunk_count"] == 4

        got = client.get(f"/v1/knowledge/documents/{doc_id}")
        assert got.status_code == 200, got.text
        assert got.json() == document

        listed = client.get("/v1/knowledge/documents", params={"tag": "guides"}).json()
        assert [d["id"] for d in listed["items"]] == [doc_id]
        assert "text" not in listed["items"][0]
        assert "chunks" not in listed["items"][0]

        assert client.delete(f"/v1/knowledge/documents/{doc_id}").status_code == 204
        assert_error(client.get(f"/v1/knowledge/documents/{doc_id}"), 404, "not_found")
        assert kb.sql("SELECT count(*) FROM knowledge_chunks WHERE document_id = :id", id=doc_id)[0][0] == 0


def test_long_text_is_packed_into_chunks_of_at_most_1200_characters_without_losing_a_word(kb: Kb) -> None:
    sentences = [f"Sentence number {i} says something about parcels and their delivery times." for i in range(120)]
    paragraphs = [" ".join(sentences[i : i + 6]) for i in range(0, 120, 6)]
    text = "\n\n".join(paragraphs)
    with kb.client() as client:
        document = add(client, title="Long", text=text)
    bodies = [c["text"] for c in document["chunks"]]
    assert len(bodies) >= 5
    assert all(len(body) <= 1200 for body in bodies), [len(b) for b in bodies]
    assert all(len(body) >= 200 for body in bodies), [len(b) for b in bodies]
    assert " ".join(" ".join(bodies).split()) == " ".join(text.split())  # every word, in order, none twice


def test_a_file_upload_takes_its_title_and_format_from_the_file_name(kb: Kb) -> None:
    with kb.client() as client:
        response = client.post(
            "/v1/knowledge/documents",
            files={"file": ("warranty-terms.md", "\ufeff# Warranty\n\nTwo years on every keyboard.".encode())},
            data={"tags": "policies, uploads", "source_url": "https://shop.example.com/warranty"},
        )
        assert response.status_code == 201, response.text
        document = response.json()
        assert document["title"] == "warranty-terms"
        assert document["format"] == "markdown"
        assert document["tags"] == ["policies", "uploads"]
        assert document["source_url"] == "https://shop.example.com/warranty"
        assert [(c["heading"], c["text"]) for c in document["chunks"]] == [
            ("warranty-terms > Warranty", "Two years on every keyboard.")
        ]

        plain = client.post(
            "/v1/knowledge/documents",
            files={"file": ("notes.txt", b"# not a heading in text\n\nsecond paragraph")},
            data={"title": "Notes"},
        )
        assert plain.status_code == 201, plain.text
        assert plain.json()["format"] == "text"
        assert plain.json()["title"] == "Notes"
        assert [c["heading"] for c in plain.json()["chunks"]] == ["Notes"]

        # A form without a file: the `file` field holds the text itself.
        field = client.post("/v1/knowledge/documents", files={"file": (None, b"Typed into a form.")})
        assert field.status_code == 201, field.text
        assert (field.json()["title"], field.json()["format"]) == ("Untitled", "text")
        assert field.json()["chunks"][0]["text"] == "Typed into a form."


@pytest.mark.parametrize(
    ("files", "data", "field"),
    [
        ({"file": ("report.pdf", b"%PDF-1.4")}, {}, "file"),
        ({"file": ("latin1.txt", "café".encode("latin-1"))}, {}, "file"),
        ({"file": ("nul.txt", b"a\x00b")}, {}, "file"),
        ({"file": (None, b"typed a\x00b")}, {}, "file"),  # the text as a plain form field
        ({"file": ("blank.md", b"  \n\n ")}, {}, "text"),
        ({"other": ("a.txt", b"text")}, {}, "file"),
        ({"file": ("a.txt", b"text")}, {"shared": "maybe"}, "shared"),
        ({"file": ("a.txt", b"text")}, {"tags": "Not A Tag"}, "tags.0"),
    ],
)
def test_a_bad_upload_is_refused_naming_the_field_and_nothing_is_stored(
    kb: Kb, files: dict[str, Any], data: dict[str, str], field: str
) -> None:
    with kb.client() as client:
        response = client.post("/v1/knowledge/documents", files=files, data={"tags": "bad-uploads", **data})
    error = assert_error(response, 422, "validation_error")
    assert field in [d["field"] for d in error["details"]], error
    assert kb.sql("SELECT count(*) FROM knowledge_documents WHERE user_id = :id", id=kb.people[ALICE].user_id) == [(0,)]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": "", "text": "x"}, "title"),
        ({"title": "   ", "text": "x"}, "title"),
        ({"title": "a\nb", "text": "x"}, "title"),
        ({"title": "t" * 301, "text": "x"}, "title"),
        ({"title": "ok", "text": " \n "}, "text"),
        ({"title": "ok"}, "text"),
        ({"title": "ok", "text": "x", "format": "pdf"}, "format"),
        ({"title": "ok", "text": "x", "tags": ["UPPER"]}, "tags.0"),
        ({"title": "ok", "text": "x", "tags": [f"t{i}" for i in range(21)]}, "tags"),
        ({"title": "ok", "text": "x", "source_url": "ftp://example.com/a"}, "source_url"),
        ({"title": "ok", "text": "x", "shared": "yes"}, "shared"),
        ({"title": "ok", "text": "a\u0000b"}, "text"),
    ],
)
def test_a_bad_json_document_is_refused_naming_the_field(kb: Kb, body: dict[str, Any], field: str) -> None:
    with kb.client() as client:
        error = assert_error(client.post("/v1/knowledge/documents", json=body), 422, "validation_error")
    assert field in [d["field"] for d in error["details"]], error
    assert kb.sql("SELECT count(*) FROM knowledge_documents WHERE user_id = :id", id=kb.people[ALICE].user_id) == [(0,)]


def test_a_document_over_the_size_limit_is_413_and_not_stored(make_kb: Any) -> None:
    kb = make_kb(knowledge_max_document_bytes=1000)
    with kb.client() as client:
        assert client.post("/v1/knowledge/documents", json={"title": "fits", "text": "é" * 500}).status_code == 201
        error = assert_error(
            client.post("/v1/knowledge/documents", json={"title": "too big", "text": "é" * 501}),
            413,
            "payload_too_large",
        )
        assert "1000" in error["message"]
        assert error["details"][0]["field"] == "text"
        upload = client.post("/v1/knowledge/documents", files={"file": ("big.txt", ("x" * 1001).encode())})
        assert_error(upload, 413, "payload_too_large")
        assert_error(client.post("/v1/knowledge/documents", content=b"{not json"), 400, "bad_request")
    titles = [row[0] for row in kb.sql("SELECT title FROM knowledge_documents WHERE NOT shared")]
    assert titles == ["fits"]


def test_documents_are_per_user_another_users_document_is_not_found(kb: Kb) -> None:
    with kb.client(ALICE) as alice, kb.client(BOB) as bob, kb.client(ADMIN) as admin:
        private = add(
            alice, title="Alice's notes", text="Alice keeps her secret zeppelin sketches here.", tags=["mine"]
        )
        path = f"/v1/knowledge/documents/{private['id']}"
        for client in (bob, admin):  # admins included: unshared documents are their owner's alone
            assert_error(client.get(path), 404, "not_found")
            assert_error(client.delete(path), 404, "not_found")
            assert_error(client.patch(path, json={"tags": ["x"]}), 404, "not_found")
            assert client.get("/v1/knowledge/documents", params={"tag": "mine"}).json()["items"] == []
            assert client.get("/v1/knowledge/search", params={"q": "secret zeppelin sketches"}).json()["results"] == []
        assert alice.get(path).status_code == 200
        assert [r["id"] for r in alice.get("/v1/knowledge/search", params={"q": "zeppelin"}).json()["results"]] == [
            f"{private['id']}:1"
        ]


def test_only_an_admin_shares_a_document_and_then_every_user_sees_it(kb: Kb) -> None:
    with kb.client(ALICE) as alice, kb.client(BOB) as bob, kb.client(ADMIN) as admin:
        refused = alice.post("/v1/knowledge/documents", json={"title": "t", "text": "x", "shared": True, "tags": ["s"]})
        assert "only an admin" in assert_error(refused, 403, "permission_denied")["message"]
        assert stored_documents(kb, "s") == 0

        own = add(alice, title="Alice's", text="Alice writes about umbrellas.")
        refused = alice.patch(f"/v1/knowledge/documents/{own['id']}", json={"shared": True})
        assert "only an admin" in assert_error(refused, 403, "permission_denied")["message"]
        assert alice.patch(f"/v1/knowledge/documents/{own['id']}", json={"tags": ["rain"]}).json()["tags"] == ["rain"]

        handbook = add(admin, title="Handbook", text="Staff wear blue aprons on Mondays.", shared=True)
        path = f"/v1/knowledge/documents/{handbook['id']}"
        seen = bob.get(path)
        assert seen.status_code == 200, seen.text
        assert seen.json()["owned"] is False
        assert seen.json()["shared"] is True
        hits = bob.get("/v1/knowledge/search", params={"q": "aprons"}).json()["results"]
        assert [h["id"] for h in hits] == [f"{handbook['id']}:1"]
        # Bob may read it, not change or delete it.
        assert "only its owner or an admin" in assert_error(bob.delete(path), 403, "permission_denied")["message"]
        assert_error(bob.patch(path, json={"tags": ["mine"]}), 403, "permission_denied")
        assert_error(bob.patch(path, json={"shared": False}), 403, "permission_denied")
        assert_error(bob.patch(path, json={"shared": None}), 422, "validation_error")

        unshared = admin.patch(path, json={"shared": False})
        assert unshared.status_code == 200
        assert unshared.json()["shared"] is False
        assert_error(bob.get(path), 404, "not_found")
        assert admin.patch(path, json={"shared": True}).json()["shared"] is True
        assert admin.delete(path).status_code == 204
        assert_error(bob.get(path), 404, "not_found")


def test_listing_is_keyset_paginated_newest_first_and_filtered_by_tag(kb: Kb) -> None:
    with kb.client() as client:
        ids = [add(client, title=f"Doc {i}", text=f"text {i}", tags=["paged"])["id"] for i in range(5)]
        add(client, title="Other", text="other", tags=["elsewhere"])
        seen: list[int] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"limit": 2, "tag": "paged"}
            if cursor:
                params["cursor"] = cursor
            page = client.get("/v1/knowledge/documents", params=params).json()
            seen.extend(d["id"] for d in page["items"])
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == list(reversed(ids))
        assert_error(client.get("/v1/knowledge/documents", params={"cursor": "nonsense"}), 422, "validation_error")
        assert_error(client.get("/v1/knowledge/documents", params={"tag": "Bad Tag"}), 422, "validation_error")
        assert_error(client.get("/v1/knowledge/documents/0"), 422, "validation_error")
        assert_error(client.get(f"/v1/knowledge/documents/{2**62}"), 422, "validation_error")
        assert_error(client.get(f"/v1/knowledge/documents/{ids[-1] + 1000}"), 404, "not_found")
