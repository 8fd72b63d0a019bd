"""The documentation's links: every relative link and image in README.md, CHANGELOG.md, autograder/README.md
and docs/*.md points to a file that exists, and every anchor to a heading of its page (as GitHub names
them); every docs page can be reached from README.md. The Markdown is read by mistune (nbconvert's parser),
tables included, so a link is what a Markdown reader sees, never a pattern in the text."""

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

import mistune
import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", ROOT / "CHANGELOG.md", ROOT / "autograder" / "README.md",
         *sorted((ROOT / "docs").glob("*.md"))]
parse = mistune.create_markdown(renderer=None, plugins=["table"])


def walk(tokens):
    for token in tokens:
        yield token
        yield from walk(token.get("children", ()))


def text_of(token) -> str:
    """A heading's text as a reader sees it (code spans included)."""
    if "raw" in token:
        return token["raw"]
    return "".join(text_of(child) for child in token.get("children", ()))


def anchors(page: Path) -> Iterator[str]:
    """The anchors GitHub gives the page's headings: lower case, punctuation dropped, spaces as hyphens,
    a repeated one numbered."""
    seen: dict[str, int] = {}
    for token in walk(parse(page.read_text())):
        if token["type"] == "heading":
            slug = re.sub(r"[^\w\- ]", "", text_of(token).strip().lower()).replace(" ", "-")
            count = seen.get(slug, 0)
            seen[slug] = count + 1
            yield slug if count == 0 else f"{slug}-{count}"


def links(page: Path) -> list[str]:
    return [token["attrs"]["url"] for token in walk(parse(page.read_text()))
            if token["type"] in ("link", "image")]


def relative(url: str) -> bool:
    return not urlsplit(url).scheme and not url.startswith("//")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page):
    broken = []
    for url in filter(relative, links(page)):
        parts = urlsplit(url)
        target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
        if not target.exists():
            broken.append(f"{url}: no {target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}")
        elif parts.fragment and parts.fragment not in set(anchors(target)):
            broken.append(f"{url}: no heading #{parts.fragment} in {target.relative_to(ROOT)}")
    assert not broken, f"{page.relative_to(ROOT)}: " + "; ".join(broken)


def test_the_parser_sees_links_in_tables_and_anchors_of_code_headings(tmp_path):
    """What the test above relies on: a link in a table cell is found, a heading with code gets GitHub's
    anchor, a missing file is missing."""
    page = tmp_path / "page.md"
    page.write_text("## Trying it: `lab2a demo`\n\n| a | b |\n|---|---|\n| [x](other.md#top) | ![i](pic.png) |\n")
    assert links(page) == ["other.md#top", "pic.png"]
    assert set(anchors(page)) == {"trying-it-lab2a-demo"}


def test_every_docs_page_is_reached_from_the_readme():
    """A reader starting at README.md finds every page of docs/ by following links."""
    reached, todo = set(), [ROOT / "README.md"]
    while todo:
        page = todo.pop()
        if page in reached:
            continue
        reached.add(page)
        for url in filter(relative, links(page)):
            path = urlsplit(url).path
            target = (page.parent / unquote(path)).resolve() if path else page
            if target.suffix == ".md" and target.is_file():
                todo.append(target)
    missing = [p.name for p in sorted((ROOT / "docs").glob("*.md")) if p not in reached]
    assert not missing, f"docs pages no link from README.md leads to: {missing}"


def test_the_readme_is_a_front_door():
    """README.md stays short (issue 19: at most 150 lines) and links each role's page directly."""
    readme = ROOT / "README.md"
    assert len(readme.read_text().splitlines()) <= 150
    direct = {urlsplit(url).path for url in links(readme)}
    for page in ("docs/students.md", "docs/ta.md", "docs/channels.md", "docs/sandbox.md", "docs/testing.md",
                 "autograder/README.md"):
        assert page in direct, page


def test_the_points_code_in_the_interpreter_could_claim_are_the_manifests():
    """The pages say how many points are properties (which code that reaches into the interpreter could still
    claim) and how many are numbers the grader compares itself: the manifest's parts of the property checks,
    and the rest."""
    from lab2a.autograder.checks.manifest import CHECKS
    from lab2a.autograder.grading.reaching import PROPERTY_CHECKS

    properties = sum(c.points for c in CHECKS if c.name in PROPERTY_CHECKS)
    numbers = sum(c.points for c in CHECKS) - properties
    words = {5: "five", 17: "seventeen"}
    sandbox = " ".join((ROOT / "docs" / "sandbox.md").read_text().split())
    grader = " ".join((ROOT / "autograder" / "README.md").read_text().split())
    assert f"{words[properties].capitalize()} points are properties" in sandbox
    assert f"claim those {words[properties]}, and no other" in sandbox and f"({numbers} points)" in sandbox
    assert f"{words[numbers].capitalize()} of the {properties + numbers} points compare numbers" in grader
    assert f"{words[properties].capitalize()} points are properties" in grader
    assert f"the other {numbers} are numbers" in grader
