"""Does a text follow from a source? Shared by passes and validation.

Measures are deliberately simple and documented so users can reason about them:

- *content-token recall*: the share of a sentence's content words (lower-cased,
  stopwords removed) that occur in the evidence. Summary sentences need
  ``SUMMARY_MIN_RECALL``; paraphrased SUPPORTS claims need
  ``PARAPHRASE_MIN_RECALL``.
- *facts*: numbers (digits or number words) and capitalized names. Every fact of
  a summary sentence or SUPPORTS claim must occur in its source; a NOT ENOUGH INFO claim
  must name at least one fact the article lacks and recall at most
  ``NEI_MAX_RECALL`` against every sentence of the article.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING, Iterable, Iterator, TypeVar

from dsgen.entities import NUMBER_WORDS, char_before, numeric_mentions
from dsgen.text import iter_words, words
from dsgen.types import Span

if TYPE_CHECKING:
    from dsgen.analysis import DocAnalysis, EvidenceSentence

_T = TypeVar("_T")

SUMMARY_MIN_RECALL = 0.8
PARAPHRASE_MIN_RECALL = 0.7
NEI_MAX_RECALL = 0.5

STOPWORDS = frozenset(
    """a an the and or but if of to in on at by for with from as into onto over under than then
    that this these those it its it's is are was were be been being has have had do does did
    will would can could should may might must shall not no nor so such also just only very
    their there they them he she his her we our you your i me my who whom which what when where
    why how all any both each few more most other some own same too s t""".split()
)
NEGATIONS = frozenset({"not", "no", "never", "none", "nobody", "nothing", "neither", "nor", "without", "n't"})
# A capital not preceded by a word character or apostrophe, then the rest of the name. The
# check on the character before comes after the capital (a look-behind over both): a
# pattern that starts with a character class lets the regex engine skip ahead to the next
# capital, where a leading look-behind made it try every position (3x slower).
_NAME_TOKEN = re.compile(r"[A-Z](?<![\w’'][A-Z])(?:[\w’'.&-]*\w|\b)")


def _content_words(tokens: Iterable[str]) -> Iterator[str]:
    """The content words among word ``tokens``, lower-cased, in order (repeats included)."""
    for w in tokens:
        low = w.lower().replace("’", "'")
        if low.endswith("'s"):
            low = low[:-2]
        if low and low not in STOPWORDS:
            yield low


@lru_cache(maxsize=4096)
def content_tokens(text: str) -> frozenset[str]:
    """Lower-cased content words of ``text`` (cached: the same sentences are compared often)."""
    return frozenset(_content_words(words(text)))  # findall: faster than reading lazily when all are needed


#: More word characters in a row than any stop word has. The word holding them is a content
#: word: lower-casing never shortens it, and a possessive 's is cut after them.
_LONGER_THAN_STOPWORDS = re.compile(r"\w{%d}" % (max(map(len, STOPWORDS)) + 1))


def has_content_word(text: str) -> bool:
    """``bool(content_tokens(text))``, without caching: for texts checked once (generated
    questions, answers, claims), which would push often-compared sentences out of the cache.
    Stops at the first content word."""
    if _LONGER_THAN_STOPWORDS.search(text):
        return True  # most texts: one regex search instead of reading word by word
    return next(_content_words(iter_words(text)), None) is not None


def token_recall(text: str, evidence: str) -> float:
    """Share of ``text``'s content tokens found in ``evidence`` (1.0 if none)."""
    toks = content_tokens(text)
    if not toks:
        return 1.0
    return len(toks & content_tokens(evidence)) / len(toks)


_DIGITS = re.compile(r"\d+(?:[.,]\d+)*")

#: Capitalized at a sentence start for grammar only: function words lemminflect's
#: dictionary does not list.
_FUNCTION_WORDS = frozenset(
    """although despite because during at for with from into than among against toward towards upon
    amid unless until whereas every nor""".split()
)


@lru_cache(maxsize=16384)
def _is_common_word(token: str) -> bool:
    from lemminflect import getAllLemmas

    low = token.lower()
    return low in STOPWORDS or low in NEGATIONS or low in _FUNCTION_WORDS or low in NUMBER_WORDS or bool(getAllLemmas(low))


def facts(text: str) -> set[str]:
    """Checkable facts: numeric mentions and capitalized names (see :func:`_facts`)."""
    return set(_facts(text))


@lru_cache(maxsize=8192)
def _facts(text: str) -> frozenset[str]:
    """Checkable facts: numeric mentions and capitalized names.

    A sentence-initial capitalized word counts only when it is not an English word
    (so "Tmall is ..." names a fact, "Meanwhile, ..." does not): otherwise swapping
    the subject of a sentence would go unnoticed.
    """
    found = {m.text for m in numeric_mentions(text)}
    # Digits the typed mentions skip ("2021-2023", "10-year", "GPT-4") are facts too.
    found.update(_DIGITS.findall(text))
    for m in _NAME_TOKEN.finditer(text):
        prev = char_before(text, m.start())
        token = m.group().rstrip(".")
        for suffix in ("’s", "'s"):
            token = token.removesuffix(suffix)
        if not token:
            continue
        if prev and prev not in ".!?:\n" or not _is_common_word(token):
            found.add(token)
    return frozenset(found)


@lru_cache(maxsize=8)
def _casefold(text: str) -> str:
    return text.casefold()  # cached: a document is checked against many rows in a row


def missing_facts(text: str, source: str) -> list[str]:
    """Facts of ``text`` that do not occur in ``source`` (case-insensitive)."""
    if text in source:
        # Every fact is text of what it was found in, and casefold maps each character
        # alone: a text found in its source has all of its facts there (no fact search).
        return []
    return _facts_not_in(text, source)


def _facts_not_in(text: str, source: str) -> list[str]:
    """:func:`missing_facts` for a ``text`` known not to occur in ``source``."""
    return list(_absent(sorted(_facts(text)), _casefold(source)))


def _absent(facts: Iterable[str], folded_source: str) -> Iterator[str]:
    """The ``facts`` that do not occur in ``folded_source`` (a casefolded text), in order.
    Lazy, for callers that only need to know whether one is missing."""
    for fact in facts:
        if fact.casefold() in folded_source:
            continue
        if fact.lower() in NUMBER_WORDS and str(NUMBER_WORDS[fact.lower()]) in folded_source:
            continue
        yield fact


def negation_flip(text: str, evidence: str) -> bool:
    """True when one side negates and the other does not."""
    def neg(s: str) -> bool:
        return bool({w.lower() for w in words(s.replace("n’t", " n't").replace("n't", " n't"))} & NEGATIONS) or "n't" in s or "n’t" in s
    return neg(text) != neg(evidence)


def best_sentence(text: str, candidates: Iterable[tuple[Span, str]]) -> tuple[Span | None, float]:
    """The candidate span with the highest recall of ``text`` (first wins ties)."""
    return _best_recall(content_tokens(text), ((span, content_tokens(sentence)) for span, sentence in candidates))


def _best_recall(toks: frozenset[str], candidates: Iterable[tuple[_T, frozenset[str]]]) -> tuple[_T | None, float]:
    """:func:`best_sentence` from content tokens: the candidate (a span, or an evidence
    sentence) whose tokens share the most of ``toks`` (first wins ties), and its recall.
    Comparing counts picks the same candidate as comparing recalls, without a division
    per candidate."""
    if not toks:
        for candidate, _ in candidates:
            return candidate, 1.0  # recall 1.0 against anything: the first wins
        return None, 0.0
    best, most = None, -1
    for candidate, tokens in candidates:
        shared = len(toks & tokens)
        if shared > most:
            best, most = candidate, shared
    return best, max(most / len(toks), 0.0)


def closest_evidence(claim: str, analysis: "DocAnalysis") -> "EvidenceSentence | None":
    """The evidence sentence of a document closest to ``claim`` (the first of equals)."""
    return _best_recall(content_tokens(claim), _evidence_tokens(analysis))[0]


@lru_cache(maxsize=4)
def _evidence_tokens(analysis: "DocAnalysis") -> tuple[tuple["EvidenceSentence", frozenset[str]], ...]:
    """Each evidence sentence of a document with its content tokens, looked up once for all
    the NOT ENOUGH INFO claims it is compared with (the fact-check pass chooses a
    document's claims one after another)."""
    return tuple((es, content_tokens(es.text)) for es in analysis.evidence_sentences)


def nei_problem(claim: str, doc_text: str, sentence_texts: Iterable[str]) -> str | None:
    """Why ``claim`` is not a valid NOT ENOUGH INFO claim for a document, or ``None``."""
    return _nei_problem(claim, doc_text, tuple(sentence_texts))


@lru_cache(maxsize=16)
def _nei_problem(claim: str, doc_text: str, sentence_texts: tuple[str, ...]) -> str | None:
    """:func:`nei_problem`, cached: validation checks each claim the fact-check pass has
    just chosen again, with the same arguments."""
    if claim in doc_text:
        return "claim_in_document"
    # missing_facts, without its search done just above; one missing fact is enough.
    if next(_absent(_facts(claim), _casefold(doc_text)), None) is None:
        return "nei_facts_present"
    toks = content_tokens(claim)
    if not toks:
        return "nei_too_similar"  # recall 1.0 against anything
    n = len(toks)
    in_document, per_sentence = _document_tokens(sentence_texts)
    # No sentence shares more of the claim's tokens than the whole document does: that
    # one intersection settles most claims (those from other articles share few words).
    if len(toks & in_document) / n > NEI_MAX_RECALL and any(len(toks & s) / n > NEI_MAX_RECALL for s in per_sentence):
        return "nei_too_similar"
    return None


@lru_cache(maxsize=4)
def _document_tokens(sentence_texts: tuple[str, ...]) -> tuple[frozenset[str], tuple[frozenset[str], ...]]:
    """Content tokens of a whole document and of each of its sentences (one entry per
    document in use: the build and ``dsgen validate`` check a document's rows one after
    another, and an entry of a book-length article holds tens of megabytes)."""
    per_sentence = tuple(content_tokens(s) for s in sentence_texts)
    return frozenset().union(*per_sentence), per_sentence
