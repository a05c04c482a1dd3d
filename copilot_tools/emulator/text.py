"""Words and sentences: the one tokenizer that ranking, extraction and intent detection share.

Ranking and sentence picking must agree on what a "term" is, or a passage could rank
first for a word that its best sentence then fails to contain. So every module that
compares a question with text goes through ``terms`` here.

Words are Unicode words of NFKC-normalised, case-folded text: letters, digits and
combining marks, so "héllo" (composed or not), "Tagegeld" and "हिन्दी" are one word each.
Chinese and Japanese do not put spaces between words, so a run of Han, Katakana or
Hangul becomes its overlapping character bigrams ("出張規程" -> 出張, 張規, 規程), the
usual dictionary-free way to search CJK; Hiragana is mostly grammar (particles,
endings) and separates words like a space. All of it is deterministic.
"""

from __future__ import annotations

import re
import unicodedata


def _marks() -> str:
    """Every combining mark of the Basic Multilingual Plane, as regex class ranges.

    Python's ``\\w`` leaves them out, which would cut "e" + U+0301 or Devanagari vowel
    signs out of their words. (Computed once, about 10 ms.)
    """
    ranges: list[list[int]] = []
    for code in range(0x300, 0x10000):
        if unicodedata.category(chr(code))[0] == "M":
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1][1] = code
            else:
                ranges.append([code, code])
    return "".join(chr(a) if a == b else f"{chr(a)}-{chr(b)}" for a, b in ranges)


_CJK = "\u3005\u30a0-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f" \
    "\u1100-\u11ff\u3130-\u318f\uac00-\ud7af\U00020000-\U0003134f"
_HIRAGANA = "\u3040-\u309f"
_LETTER = f"(?:[^\\W_{_CJK}{_HIRAGANA}]|[{_marks()}])"
_CONTRACTION = "['’](?:s|t|re|ve|ll|d|m)"  # don't, John's, we're: one word; l'indemnité: two
_WORD = re.compile(
    f"(?P<cjk>[{_CJK}]+)|\\d+(?:[.,]\\d+)*|{_LETTER}+(?:{_CONTRACTION}(?!{_LETTER}))?"
)
_CJK_RUN = re.compile(f"[{_CJK}]+")
_SENTENCE_END = re.compile(
    r"(?<=[.!?])[\"”')\]]*\s+(?=[\"“(*\[]?[A-Z0-9])"  # Latin: punctuation, space, a capital
    r"|(?<=[。！？])\s*(?=\S)"  # CJK: full-width stops end a sentence, space or not
)
_ABBREVIATIONS = ("e.g.", "i.e.", "etc.", "vs.", "approx.", "no.", "mr.", "ms.", "dr.", "inc.", "u.s.")
# Link text and tags run to the next bracket: linear even on a thousand unclosed ones.
_LINK = re.compile(r"!?\[([^\[\]]*)\]\([^()]*\)")
_HTML = re.compile(r"<[^<>\n]+>")
#: C0 and C1 control characters other than tab, line feed and carriage return.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")

#: Words that carry no topic: English function words plus the words people use to *ask*
#: ("what", "tell", "summarize"), which would otherwise match every how-to page.
def word_set(text: str) -> frozenset[str]:
    """A set of words written as plain text: long word lists read better that way."""
    return frozenset(text.split())


STOPWORDS = word_set(
    """
    a about above after again against all also am an and any are aren't as at be because been
    before being below between both but by can can't cannot could couldn't did didn't do does
    doesn't doing don't down during each few for from further had hadn't has hasn't have haven't
    having he her here hers herself him himself his how i if in into is isn't it it's its itself
    let's me more most mustn't my myself no nor not of off on once only or other ought our ours
    ourselves out over own same shan't she should shouldn't so some such than that that's the their
    theirs them themselves then there there's these they this those through to too under until up
    very was wasn't we were weren't what what's when where which while who who's whom why with
    won't would wouldn't you your yours yourself yourselves will shall may might must
    tell show give find know get please thanks thank hi hello hey us let like want need
    summarize summarise summary summarizing overview explain describe list document documents doc
    file files anything something everything anyone someone one ones
    """
)


def stem(word: str) -> str:
    """A deliberately small suffix stripper: "approves", "approved" and "approval" must meet.

    It only has to be consistent (questions and passages go through the same one), not
    linguistically right.
    """
    word = word.replace("’", "'")
    word = word.removesuffix("'s")
    if word[:1].isdigit():
        return word
    if len(word) > 4 and word.endswith("ies"):
        word = word[:-3] + "y"
    elif len(word) > 4 and word.endswith("sses"):
        word = word[:-2]
    elif len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    if len(word) > 5 and word.endswith("ing"):
        word = word[:-3]
    elif len(word) > 4 and word.endswith("ed") and not word.endswith("eed"):
        word = word[:-2]
    if len(word) > 6 and word.endswith("al"):
        word = word[:-2]
    if len(word) > 4 and word.endswith("e"):
        word = word[:-1]
    return word


def words(text: str) -> list[str]:
    """Case-folded words, stop words included (for phrase checks such as "this afternoon")."""
    found: list[str] = []
    for match in _WORD.finditer(unicodedata.normalize("NFKC", text).casefold()):
        run = match.group("cjk")
        if run is None:
            found.append(match.group(0))
        elif len(run) == 1:
            found.append(run)
        else:
            found.extend(run[i : i + 2] for i in range(len(run) - 1))
    return found


def length(text: str) -> int:
    """How long a text reads, in words: CJK characters count one each (they have no spaces)."""
    return len(text.split()) + sum(len(run) - 1 for run in _CJK_RUN.findall(text))


def terms(text: str) -> list[str]:
    """The topic terms of ``text``: stop words dropped, stemmed, in order, repeats kept."""
    return [stem(word) for word in words(text) if word.replace("’", "'") not in STOPWORDS]


def plain_inline(text: str) -> str:
    """Markdown links become their text and stray HTML goes: what a sentence should quote."""
    return _HTML.sub("", _LINK.sub(r"\1", text)).strip()


def split_sentences(paragraph: str) -> list[str]:
    """Sentences of a paragraph; abbreviations such as "e.g." do not end one."""
    pieces = _SENTENCE_END.split(paragraph.strip())
    sentences: list[str] = []
    for piece in pieces:
        if sentences and sentences[-1].lower().endswith(_ABBREVIATIONS):
            sentences[-1] = f"{sentences[-1]} {piece}"
        elif piece:
            sentences.append(piece)
    return sentences


def whole_number(text: str) -> int | None:
    """``text``, digits alone (no sign, no spaces), as the number it spells; None for anything else,
    including the digits ``int()`` refuses that ``str.isdigit`` admits: a superscript, or more than
    Python converts."""
    if not text.isdigit():
        return None
    try:
        return int(text)
    except ValueError:
        return None
