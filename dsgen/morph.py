"""Small English morphology for question templates (verb base forms, casing)."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context

_LOWERABLE = {"They", "It", "He", "She", "We", "The", "A", "An", "This", "That", "These", "Those", "Its", "Their", "His", "Her", "Our", "Some", "Many", "Most", "Several", "Each", "Every", "Such", "Regulatory", "Leadership", "Investors", "Analysts", "Experts"}


@lru_cache(maxsize=4096)
def base_verb(word: str) -> str:
    """``pledged`` -> ``pledge``, ``led`` -> ``lead`` (lemminflect's lemma)."""
    from lemminflect import getLemma

    lemmas = getLemma(word.lower(), upos="VERB")
    return lemmas[0] if lemmas else word


@pass_context
def lower_first(context: Context | dict[str, Any], phrase: str) -> str:
    """Lower-case a leading determiner-like word ("The firm" -> "the firm"), or a word
    the article (the template's ``article``) writes in lower case and never capitalized
    after a word ("Cloning is ..." -> "cloning", where the article says "cloning a
    function"); names stay capitalized."""
    head, sep, tail = phrase.partition(" ")
    if head in _LOWERABLE or _common_word(head, context.get("article")):
        return head.lower() + sep + tail
    return phrase


def _common_word(word: str, article: str | None) -> bool:
    """``word`` (capitalized, at the start of a sentence) is a common word of ``article``:
    written there in lower case, and not capitalized after a word or comma, as a name is
    ("an implementation of Complex"), or after a dot, as an attribute is ("threading.Timer")."""
    if not article or not (word[:1].isupper() and word[1:].islower() and word.isalpha()):
        return False
    lower = word.lower()
    if len(article) > _SEARCH_CHARS:  # a book: its words once, not a search of it per question
        written_lower, named = _article_words(article)
        return lower in written_lower and word not in named
    if lower not in article:  # most names: no regex to run
        return False
    return re.search(rf"\b{lower}\b", article) is not None and re.search(rf"(?:[\w,] |\.){word}\b", article) is None


#: Articles up to this long are searched for each word :func:`_common_word` weighs; longer
#: ones have their words listed once (:func:`_article_words`), which costs more for a
#: news article than the few searches it needs, and far less for a book.
_SEARCH_CHARS = 50_000
_WORD_RUN = re.compile(r"\w+")
_AFTER_A_WORD = re.compile(r"(?:(?<=[\w,] )|(?<=\.))\w+")


@lru_cache(maxsize=4)
def _article_words(article: str) -> tuple[frozenset[str], frozenset[str]]:
    """The words of ``article`` (runs of word characters: what ``\\bword\\b`` finds),
    and those written after a word or a comma, or a dot (what ``(?:[\\w,] |\\.)Word\\b`` finds)."""
    return frozenset(_WORD_RUN.findall(article)), frozenset(_AFTER_A_WORD.findall(article))


FILTERS = {"base_verb": base_verb, "lower_first": lower_first}
