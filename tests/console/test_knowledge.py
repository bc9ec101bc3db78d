"""The knowledge page: upload a Markdown file, find it by search with its words highlighted, and a document
whose title and text hold markup shown as text."""

from __future__ import annotations

from playwright.async_api import Dialog, FilePayload, expect

from switchboard.console.knowledge import MARK_START, MARK_STOP, highlighted
from tests.console.conftest import Console

ALICE = "alice@example.com"
POLICY = b"""# Returns

## Refunds

Orders can be refunded within 30 days. A refund goes back to the card that paid.

## Exchanges

Exchanges are free for unworn items.
"""
HOSTILE_TITLE = "<script>alert(1)</script> Zanzibar notes"


def test_only_the_search_marks_become_markup() -> None:
    snippet = f"a {MARK_START}<b>refund</b>{MARK_STOP} & <script>alert(1)</script> {MARK_START}x"
    assert str(highlighted(snippet)) == (
        "a <mark>&lt;b&gt;refund&lt;/b&gt;</mark> &amp; &lt;script&gt;alert(1)&lt;/script&gt; <mark>x</mark>"
    )


async def test_upload_search_and_markup_shown_as_text(console: Console) -> None:
    page = await console.open(ALICE)
    dialogs: list[str] = []

    async def answer(dialog: Dialog) -> None:
        if dialog.type == "confirm":  # "Delete this document?"
            await dialog.accept()
        else:  # an alert would be a script from a document
            dialogs.append(dialog.message)
            await dialog.dismiss()

    page.on("dialog", answer)
    await page.goto("/console/knowledge")
    await page.get_by_label("A .txt or .md file").set_input_files(
        files=FilePayload(name="returns.md", mimeType="text/markdown", buffer=POLICY)
    )
    await page.get_by_role("button", name="Upload").click()
    await expect(page.locator("#flash")).to_contain_text("Added 'returns'")
    client = console.server.client(console.users[ALICE].key)
    documents = client.get("/v1/knowledge/documents").json()["items"]
    [stored] = [doc for doc in documents if doc["title"] == "returns"]
    assert stored["format"] == "markdown"
    row = page.locator(f"#document-{stored['id']}")
    await expect(row.locator(".doc-title")).to_have_text("returns")
    await expect(row.locator("td.num").first).to_have_text(str(stored["chunk_count"]))

    search = page.get_by_label("Search your documents")
    await search.fill("unworn exchanges")
    await search.press("Enter")
    hit = page.locator("#results .hit").first
    await expect(hit.locator(".hit-title")).to_have_text("returns")
    await expect(hit.locator("mark")).to_have_text(["Exchanges", "unworn"])
    await expect(page.locator("#results")).to_contain_text("full-text search")
    await page.evaluate("window.scrollTo(0, 0)")
    await console.screenshot(page, "knowledge")

    # Pasted text whose title and text hold markup: shown as text, nothing runs.
    await page.get_by_label("Title", exact=True).fill(HOSTILE_TITLE)
    await page.get_by_label("Text", exact=True).fill(
        "Zanzibar: two years. <script>alert(1)</script> <img src=x onerror=alert(2)> **bold** zanzibar"
    )
    await page.get_by_role("button", name="Add", exact=True).click()
    await expect(page.locator("#documents .doc-title", has_text="Zanzibar notes")).to_have_text(HOSTILE_TITLE)

    await search.fill("zanzibar")
    await search.press("Enter")
    await expect(page.locator("#results .hit-title")).to_have_text([HOSTILE_TITLE])
    await expect(page.locator("#results mark").first).to_have_text("Zanzibar")
    assert await page.locator("#main script, #main img").count() == 0
    assert dialogs == []

    # The API's rules, the API's errors: a file that is not .txt or .md is refused, and nothing is stored.
    await page.get_by_label("A .txt or .md file").set_input_files(
        files=FilePayload(name="notes.pdf", mimeType="application/pdf", buffer=b"%PDF-1.4")
    )
    await page.get_by_role("button", name="Upload").click()
    await expect(page.get_by_role("alert")).to_contain_text("'notes.pdf' is not a .txt or .md file")

    await page.get_by_role("button", name=f"Delete {HOSTILE_TITLE}").click()
    await expect(page.locator("#flash")).to_contain_text("Deleted")
    await expect(page.locator("#documents .doc-title", has_text="Zanzibar")).to_have_count(0)
    titles = [doc["title"] for doc in client.get("/v1/knowledge/documents", params={"limit": 100}).json()["items"]]
    assert "returns" in titles
    assert HOSTILE_TITLE not in titles
    assert "notes" not in titles

    # Without htmx, the search is a plain GET of the page (and the pushed URL of a search leads there too).
    await page.goto("/console/knowledge/search?q=unworn")
    await expect(page).to_have_url(f"{console.server.url}/console/knowledge?q=unworn")
    await expect(page.locator("#results .hit-title")).to_have_text(["returns"])
