"""Reading a researcher's report the way a client would: its claims, the chunks they cite, and those chunks'
text from the knowledge API."""

from __future__ import annotations

import re
from typing import Any

import httpx

CITATION = re.compile(r"\[(\d+:\d+(?:\s*,\s*\d+:\d+)*)\]")


def normalized(text: str) -> str:
    return " ".join(text.split())


def claims(report: str) -> list[tuple[str, list[str]]]:
    """(claim, chunk ids cited) for each cited line of the report above its Sources section."""
    body = report.split("\n## Sources\n")[0]
    found = []
    for line in body.splitlines():
        match = CITATION.search(line)
        if match is None:
            continue
        claim = line[: match.start()].strip().removeprefix("- ").strip()
        found.append((claim, [label.strip() for label in match.group(1).split(",")]))
    return found


def chunk_text(client: httpx.Client, label: str) -> str | None:
    """The text of chunk `document:chunk` as the knowledge API shows it to this client, or None."""
    document_id, ordinal = label.split(":")
    response = client.get(f"/v1/knowledge/documents/{document_id}")
    if response.status_code == 404:
        return None
    assert response.status_code == 200, response.text
    chunks: list[dict[str, Any]] = response.json()["chunks"]
    return next((c["text"] for c in chunks if c["ordinal"] == int(ordinal)), None)


def assert_citations_hold(client: httpx.Client, output: dict[str, Any]) -> list[str]:
    """Every claim cites chunks that exist and contain its words verbatim; the sources are exactly the cited
    chunks, in order, with their titles. Returns the cited ids."""
    report = output["report"]
    cited: list[str] = []
    pairs = claims(report)
    assert pairs, report
    for claim, labels in pairs:
        for label in labels:
            text = chunk_text(client, label)
            assert text is not None, f"[{label}] names no chunk this user can read"
            assert normalized(claim) in normalized(text), (claim, label, text)
            if label not in cited:
                cited.append(label)
    assert [source["id"] for source in output["sources"]] == cited
    for source in output["sources"]:
        document = client.get(f"/v1/knowledge/documents/{source['document_id']}").json()
        assert source["title"] == document["title"]
        assert f"- [{source['id']}] " in report.split("\n## Sources\n")[1]
    return cited
