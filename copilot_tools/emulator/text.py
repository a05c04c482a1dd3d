"""Words and sentences: the one tokenizer that ranking, extraction and intent detection share.

Ranking and sentence picking must agree on what a "term" is, or a passage could rank
first for a word that its best sentence then fails to contain. So every module that
compares a question with text goes through ``terms`` here.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"\d+(?:[.,]\d+)*|[a-z0-9]+(?:['’][a-z]+)?")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"”')\]]*\s+(?=[\"“(*\[]?[A-Z0-9])")
_ABBREVIATIONS = ("e.g.", "i.e.", "etc.", "vs.", "approx.", "no.", "mr.", "ms.", "dr.", "inc.", "u.s.")
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_HTML = re.compile(r"<[^>\n]+>")

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
    """Lower-cased words, stop words included (for phrase checks such as "this afternoon")."""
    return _WORD.findall(text.lower())


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
