"""Writes docs/RESULTS.md from docs/results/reference.yaml: `python docs/results/generate.py > docs/RESULTS.md`.
tests/test_docs.py checks that the committed page is this script's output."""

from __future__ import annotations

from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
COLUMNS = ("dataset", "preset", "metric", "seqlab", "reference", "command", "wall")
HEADERS = ("dataset", "model (preset)", "metric", "seqlab (test)", "reference figure", "command", "wall time")


def cell(key: str, value) -> str:
    text = str(value).replace("|", "\\|")
    return f"`{text}`" if key in ("command",) else text


def markdown(data: dict) -> str:
    lines = ["# Results", "",
             "The reference presets in `conf/experiment/` against published figures: test-split metrics of one run of",
             "the command shown (seed 0 unless said otherwise), on a shared 2-core CPU machine without a GPU. Wall",
             "times are whole commands taken under load from other jobs: upper bounds. How each figure was reached,",
             "and what was tried on the way, is on [How the results were reached](results-history.md).", "",
             "This page is generated from `docs/results/reference.yaml` (`python docs/results/generate.py`). The",
             "UCR/UEA commands need the archive's files; the ETT and IMDB ones read `SEQLAB_DATA_DIR`.", ""]
    for section, rows in data.items():
        lines += [f"## {section[0].upper() + section[1:]}", "",
                  "| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
        for row in rows:
            lines.append("| " + " | ".join(cell(k, row.get(k, "")) for k in COLUMNS) + " |")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    print(markdown(yaml.safe_load((HERE / "reference.yaml").read_text())), end="")
