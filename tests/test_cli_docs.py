"""Every `ocma ...` command the README and the docs show parses against the real command tree.

Lines in code blocks are full examples (every required argument, no stray words); commands quoted in prose
may name a command without its arguments. Either way an unknown command, option or value fails here, so
the docs cannot drift from the CLI. Dates in examples must be relative ('tomorrow 09:00', 'in 2h'):
an absolute date goes stale.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cli_tree import command_tree, parse_problem

ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted(
    [
        ROOT / "README.md",
        *ROOT.glob("docs/*.md"),
        *ROOT.glob("agent/README.md"),
        *ROOT.glob("bots/*/README.md"),
        *ROOT.glob("plugins/*/*/README.md"),
    ]
)
INLINE = re.compile(r"`((?:python3 dev\.py )?ocma [^`]+)`")
COMMENT = re.compile(r"\s+#\s.*$")
SHELL = {"", "bash", "sh", "shell", "console"}  # code blocks whose lines are commands
ABSOLUTE_DATE = re.compile(r"--(?:at|since)[ =]\"?\d{4}-\d{2}-\d{2}")

command_tree()  # every plugin's commands are part of `ocma`


def _command_lines(text: str) -> list[tuple[str, bool]]:
    """(command line, strict) for each `ocma` command: in code blocks (strict) and in inline code."""
    found: list[tuple[str, bool]] = []
    in_block, shell = False, False
    pending = ""
    for raw in text.splitlines():
        if raw.lstrip().startswith("```"):
            in_block = not in_block
            shell = in_block and raw.strip().removeprefix("```") in SHELL
            continue
        if in_block and not shell:
            continue
        if in_block:
            line = pending + COMMENT.sub("", raw.strip()).removesuffix(" &")  # run in the background
            pending = line[:-1] + " " if line.endswith("\\") else ""
            if not pending and re.match(r"(python3 dev\.py )?ocma ", line):
                found.append((line, True))
        else:
            found += [(m.group(1), False) for m in INLINE.finditer(raw)]
    return [(line.removeprefix("python3 dev.py "), strict) for line, strict in found]


CASES = [(doc, line, strict) for doc in DOCS for line, strict in _command_lines(doc.read_text("utf-8"))]


def test_the_docs_show_commands() -> None:
    assert len(CASES) > 20


@pytest.mark.parametrize(
    ("doc", "line", "strict"), CASES, ids=[f"{d.relative_to(ROOT)}: {line}"[:90] for d, line, _ in CASES]
)
def test_documented_command_parses(doc: Path, line: str, strict: bool) -> None:
    problem = parse_problem(line, strict=strict)
    assert problem is None, f"{doc.relative_to(ROOT)}: {problem}"
    assert not ABSOLUTE_DATE.search(line), f"{doc.relative_to(ROOT)}: {line!r} has a date that goes stale"
