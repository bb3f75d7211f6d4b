"""Chinese line breaking (禁则, GB/T 15834 and common typesetting practice) for fpdf2.

fpdf2 breaks text without spaces between any two characters, so a line of an agreement could
start with "，" or end with "（". Where fpdf2 had to break inside such a run, the break moves
back (推出: the last characters of the line go to the next one) to the nearest place where:

* the next line does not start with closing punctuation (、，。；：？！）」』】》… and the like);
* the line does not end with opening punctuation (（「『【《 and the like);
* a 破折号 "——" or 省略号 "……" is not split;
* an ASCII word or number (an ID number, "2000.00", "A4") is not split.

When no such place exists within the line, the punctuation rules alone decide (a number as
wide as a narrow column is split); when even they cannot be met, fpdf2's break stays.

Installed once by `install()` into the two fpdf2 modules that wrap text (`multi_cell`,
`write` and tables; `write_html` paragraphs): fpdf2 offers no hook for this, and its line
breaker is internal, so `tests/casefiles/test_documents.py` checks the result on real PDFs."""

from __future__ import annotations

from typing import Any

import fpdf.fpdf
import fpdf.text_region
from fpdf.line_break import SPACE, MultiLineBreak, TextLine

# Never at the start of a line.
NO_START = frozenset("、，。；：？！）」』】》〉〕］｝”’…‥·・％‰℃°,.;:?!)]}%")
# Never at the end of a line.
NO_END = frozenset("（「『【《〈〔［｛“‘([{")
# Written as two characters that stay on one line.
PAIRED = frozenset("—…")
_WORD = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-_/@:")


def may_break(before: str, after: str, *, words: bool = True) -> bool:
    """Whether a line may end with `before` and the next start with `after` (`words`: also
    keep ASCII words and numbers whole)."""
    if after in NO_START or before in NO_END:
        return False
    if before == after and before in PAIRED:
        return False
    return not (words and before in _WORD and after in _WORD)


def pull_back(line: str, following: str) -> int:
    """How many characters at the end of `line` go to the next line so that the break obeys
    the rules: all of them if a place in the line allows, else the punctuation rules alone (a
    number as wide as a narrow column); 0 (break where fpdf2 did) when nothing does."""
    for words in (True, False):
        for moved in range(len(line)):
            after = line[len(line) - moved] if moved else following
            if may_break(line[len(line) - moved - 1], after, words=words):
                return moved
    return 0


class ChineseLineBreak(MultiLineBreak):
    """fpdf2's line breaker with the rules above applied to its forced breaks (the breaks it
    makes between two characters because the line holds no space to break at)."""

    def get_line(self) -> TextLine | None:
        line = super().get_line()
        if line is None or self.idx_last_forced_break is None:
            return line  # the end, a newline or a break at a space: nothing to move
        # A forced break: the line holds exactly the characters before the current one.
        chars = "".join("".join(f.characters) for f in line.fragments)
        following = self.fragments[self.fragment_index].characters[self.character_index]
        moved = pull_back(chars, following)
        if not moved:
            return line
        for _ in range(moved):
            self._step_back()
        self.idx_last_forced_break = (self.fragment_index, self.character_index)
        return _shortened(line, moved)

    def _step_back(self) -> None:
        if self.character_index > 0:
            self.character_index -= 1
            return
        self.fragment_index -= 1
        while not self.fragments[self.fragment_index].characters:
            self.fragment_index -= 1
        self.character_index = len(self.fragments[self.fragment_index].characters) - 1


def _shortened(line: TextLine, moved: int) -> TextLine:
    fragments: list[Any] = list(line.fragments)
    while moved:
        last = fragments[-1]
        count = len(last.characters)
        if count <= moved:
            fragments.pop()
            moved -= count
        else:
            last.trim(count - moved)
            moved = 0
    return line._replace(
        fragments=fragments,
        # As fpdf2's CurrentLine measures a line.
        text_width=sum(f.get_width(initial_cs=i > 0) for i, f in enumerate(fragments)),
        number_of_spaces=sum(f.characters.count(SPACE) for f in fragments),
    )


def install() -> None:
    fpdf.fpdf.MultiLineBreak = ChineseLineBreak  # type: ignore[attr-defined]
    fpdf.text_region.MultiLineBreak = ChineseLineBreak  # type: ignore[attr-defined,misc]
