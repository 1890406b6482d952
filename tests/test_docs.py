"""The README and docs/ link to each other's sections: every relative link must reach a file and a heading."""

from __future__ import annotations

import os
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


def test_the_config_reference_page_is_generated_from_the_schemas():
    """docs/reference/config.md is `python -m seqlab.config.reference`'s output: it cannot drift from the code."""
    from seqlab.config.reference import markdown

    page = markdown()
    assert (REPO / "docs" / "reference" / "config.md").read_text() == page, \
        "regenerate: python -m seqlab.config.reference > docs/reference/config.md"
    for key in ("trainer.optimizer", "trainer.checkpoint.every", "model.units", "dataset.time_column", "seed"):
        assert f"| `{key}` |" in page
    assert "| `trainer.optimizer` | str | `adam` | adam, adamw, sgd, rmsprop |" in page


def test_every_config_key_has_a_type_default_and_meaning():
    from seqlab.config import GROUPS
    from seqlab.config.reference import rows
    from seqlab.registry import registry

    missing = sorted({key for g in GROUPS for e in registry(g) for key, _, _, _, meaning in rows(e.schema, f"{g}.")
                      if not meaning})
    assert missing == [], f"keys without a comment in their schema: {missing}"


def test_the_results_page_is_generated_from_its_data():
    import importlib.util

    import yaml

    spec = importlib.util.spec_from_file_location("generate", REPO / "docs" / "results" / "generate.py")
    generate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generate)
    data = yaml.safe_load((REPO / "docs" / "results" / "reference.yaml").read_text())
    assert (REPO / "docs" / "RESULTS.md").read_text() == generate.markdown(data), \
        "regenerate: python docs/results/generate.py > docs/RESULTS.md"
    for rows in data.values():
        for row in rows:
            assert set(generate.COLUMNS) <= set(row), row
            assert row["command"].startswith("python -m seqlab experiment=" + row["preset"].split()[0])


def test_the_readme_is_a_front_page():
    assert len((REPO / "README.md").read_text().splitlines()) <= 160


@pytest.mark.slow
def test_the_documentation_site_builds_strictly(tmp_path):
    """`mkdocs build --strict` (Material theme, mkdocs.yml at the top): a broken link or a missing page fails."""
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(REPO / "mkdocs.yml"),
                        "-d", str(tmp_path / "site")], capture_output=True, text=True, timeout=300,
                       env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert r.returncode == 0, r.stderr[-3000:]
    assert (tmp_path / "site" / "reference" / "config" / "index.html").is_file()
