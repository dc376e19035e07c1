"""docs/assignment.md and its Bahasa Indonesia twin docs/assignment.id.md stay in step: the same
steps under the same headings' numbers and code, the same commands, the same inline code; and the
make targets they name exist."""

import re
from collections import Counter

import pytest

from helpers import REPO_ROOT

DOCS = {"en": REPO_ROOT / "docs" / "assignment.md", "id": REPO_ROOT / "docs" / "assignment.id.md"}
FENCE = re.compile(r"^```\w*\n(.*?)^```$", re.M | re.S)
INLINE = re.compile(r"`([^`\n]+)`")


def parts(lang):
    text = DOCS[lang].read_text()
    prose = FENCE.sub("", text)
    return {
        # Level, step number and inline code of each heading.
        "headings": [(len(m.group(1)), re.match(r"\d*", m.group(2)).group(), INLINE.findall(m.group(2)))
                     for m in re.finditer(r"^(#+) (.*)$", prose, re.M)],
        "commands": FENCE.findall(text),
        "inline": Counter(INLINE.findall(prose)),
    }


@pytest.mark.parametrize("part", ["headings", "commands", "inline"])
def test_the_english_and_indonesian_pages_agree(part):
    assert parts("en")[part] == parts("id")[part]


def test_the_steps_are_numbered_in_order():
    steps = [number for level, number, _ in parts("en")["headings"] if level == 2]
    assert steps == [str(n) for n in range(1, len(steps) + 1)] and len(steps) >= 9


def test_every_make_target_named_exists():
    makefile = (REPO_ROOT / "Makefile").read_text()
    targets = {m.group(1) for m in re.finditer(r"^([a-z][a-z-]*):", makefile, re.M)}
    named = {m.group(1) for block in parts("en")["commands"] for m in re.finditer(r"^make ([a-z-]+)", block, re.M)}
    named |= {m.group(1) for code in parts("en")["inline"] for m in re.finditer(r"^make ([a-z-]+)", code)}
    assert named and named <= targets, named - targets
