"""The README and docs/ link to each other's sections: every relative link must reach a file and a heading."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]

# GitHub's heading slugs (github-slugger): lower case, punctuation dropped (en dashes and colons included),
# spaces to hyphens, and -1, -2 ... on repeated headings.
_DROPPED = re.compile(r"[\x00-\x1f!-,./:-@\[-\^`{-~\xa0-\xbf\xd7\xf7\u2000-\u206f\u2190-\u2bff\u3000-\u303f]")
_LINK = re.compile(r"\]\(([^)\s#]*)(?:#([^)\s]+))?\)")


def slug(heading: str) -> str:
    return _DROPPED.sub("", heading.strip().lower()).replace(" ", "-")


def anchors(text: str) -> set[str]:
    seen: dict[str, int] = {}
    found = set()
    in_code = False
    for line in text.splitlines():
        if line.startswith("```"):
            in_code = not in_code
        heading = None if in_code else re.match(r"^#{1,6}\s+(.*)", line)
        if heading:
            base = slug(heading.group(1))
            count = seen.get(base, 0)
            found.add(base if count == 0 else f"{base}-{count}")
            seen[base] = count + 1
    return found


def test_slug_follows_github():
    assert slug("Does SegRNN's own code reach 0.341 on this data? (2026-12-06, 10:31–11:37 UTC)") == (
        "does-segrnns-own-code-reach-0341-on-this-data-2026-12-06-10311137-utc")
    assert anchors("# A\n## A\n```\n# not a heading\n```\n") == {"a", "a-1"}


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_reaches_a_file_and_a_heading(doc: Path):
    broken = []
    for match in _LINK.finditer(doc.read_text()):
        target, fragment = match.group(1), match.group(2)
        if re.match(r"[a-z]+:", target):  # http:, https:, mailto:
            continue
        path = (doc.parent / target).resolve() if target else doc
        if not path.exists():
            broken.append(f"{match.group(0)}: no file {path}")
        elif fragment and path.suffix == ".md" and fragment not in anchors(path.read_text()):
            broken.append(f"{match.group(0)}: no heading #{fragment} in {path.name}")
    assert not broken, "\n".join(broken)
