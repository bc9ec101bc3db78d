"""What a new user reads first: the licence, declared where packaging tools look for it, and a README that has a
table of contents, examples that work against any server (`$BASE`), and speaks of the support demo and the
insurance agents rather than of the systems they replace (kept to one section)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
ORIGINS = "## Where Switchboard comes from"


def _sections(markdown: str) -> dict[str, str]:
    """The README's `## ` sections by title, code blocks included (a `# comment` in one is not a heading)."""
    sections: dict[str, str] = {}
    title, fenced = "", False
    lines: list[str] = []
    for line in markdown.splitlines():
        fenced ^= line.startswith("```")
        if not fenced and line.startswith("## "):
            sections[title] = "\n".join(lines)
            title, lines = line[3:], []
        lines.append(line)
    sections[title] = "\n".join(lines)
    return sections


def _anchor(title: str) -> str:
    return re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")


def test_the_licence_is_mit_and_declared_for_packaging_tools() -> None:
    licence = (ROOT / "LICENSE").read_text()
    assert licence.startswith("MIT License\n")
    assert "Copyright (c) 2026 Switchboard contributors" in licence
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"].split(" AND ")[0] == "MIT"
    assert "LICENSE" in project["license-files"]
    for pattern in project["license-files"]:  # every licence file the wheel names exists
        assert list(ROOT.glob(pattern)), pattern


def test_the_readme_has_a_table_of_contents_near_the_top() -> None:
    sections = _sections(README)
    titles = [title for title in sections if title]
    contents = sections["Contents"]
    assert titles.index("Contents") == 0
    headings = {_anchor(line.lstrip("#")) for line in README.splitlines() if re.match(r"#{2,3} ", line)}
    links = re.findall(r"\]\(#([^)]+)\)", contents)
    assert set(links) <= headings, set(links) - headings
    assert {_anchor(title) for title in titles if title != "Contents"} <= set(links)


def test_curl_examples_use_base_not_a_hard_coded_server() -> None:
    curls = [line for line in README.splitlines() if line.lstrip().startswith("curl ") or "curl -s" in line]
    assert len(curls) > 10
    assert [line for line in curls if re.search(r"https?://", line)] == []
    assert "BASE=http://127.0.0.1:8000" in README


def test_the_original_systems_are_named_in_one_section_only() -> None:
    outside = README.replace(_sections(README)["Where Switchboard comes from"], "")
    assert re.findall(r".{0,40}\bseed(?:s)? ?0\d\d.{0,40}", outside, flags=re.IGNORECASE) == []
    assert ORIGINS in README
