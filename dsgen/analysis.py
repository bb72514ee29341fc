"""Per-document analysis shared by the templated passes and validation.

Finds the sentences that may serve as evidence (prose, not boilerplate, not the
title) and the typed facts in each, once per document.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from dsgen.boilerplate import BoilerplateRules, overlaps
from dsgen.entities import Lexicon, Mention, document_name_mentions, numeric_mentions
from dsgen.text import Sentence, asks_question, is_prose, lines, sentences, stands_alone
from dsgen.types import Document, Span

#: Sentence lengths (in words) that make a readable fact-check claim.
CLAIM_MIN_WORDS, CLAIM_MAX_WORDS = 8, 45
#: The longest context passage handed out (see :meth:`DocAnalysis.passage_for`).
PASSAGE_MAX_CHARS = 1200


@dataclass(frozen=True)
class EvidenceSentence:
    """A sentence fit to be evidence, with its facts (offsets relative to the sentence)."""

    sentence: Sentence
    mentions: tuple[Mention, ...]
    #: The sentence's text and span, copied: passes read them hundreds of times per document.
    text: str = field(init=False, compare=False, repr=False)
    span: Span = field(init=False, compare=False, repr=False)
    #: Short enough to judge, long enough to state a fact, not a question: a fact-check claim.
    claimable: bool = field(init=False, compare=False, repr=False)

    @cached_property
    def stands_alone(self) -> bool:
        """Says what it is about itself (see :func:`dsgen.text.stands_alone`): fact-check
        claims are drawn from such sentences first. Worked out once per sentence: a
        document's sentences are weighed again as its neighbours' NOT ENOUGH INFO claims."""
        return stands_alone(self.text)

    def __post_init__(self) -> None:
        object.__setattr__(self, "text", self.sentence.text)
        object.__setattr__(self, "span", self.sentence.span)
        n = len(self.text.split())
        object.__setattr__(self, "claimable", CLAIM_MIN_WORDS <= n <= CLAIM_MAX_WORDS and not asks_question(self.text))


def _with_kind(m: Mention, kind: str) -> Mention:
    return m if m.kind == kind else Mention(kind, m.start, m.end, m.text)


def _position(m: Mention) -> tuple[int, int]:
    return m.start, m.end


class DocAnalysis:
    """Lazily computed facts about one document."""

    def __init__(self, doc: Document, rules: BoilerplateRules, lexicon: Lexicon) -> None:
        self.doc = doc
        self.rules = rules
        self.lexicon = lexicon
        self._span_texts: dict[Span, str] = {}

    @cached_property
    def boilerplate(self) -> list[Span]:
        return self.rules.spans(self.doc.text)

    @cached_property
    def title_span(self) -> Span | None:
        first = lines(self.doc.text)[:1]
        if first and self.doc.title and first[0].text == self.doc.title:
            return first[0].span
        return None

    @cached_property
    def all_sentences(self) -> list[Sentence]:
        return sentences(self.doc.text)

    @cached_property
    def sentence_texts(self) -> tuple[str, ...]:
        """The text of every sentence, in order (what NOT ENOUGH INFO checks compare against)."""
        return tuple(s.text for s in self.all_sentences)

    @cached_property
    def evidence_sentences(self) -> list[EvidenceSentence]:
        """Prose sentences outside boilerplate and the title, with typed facts."""
        blocked = set(self._boilerplate_lines)
        if self.title_span:
            blocked.add(0)
        prose = [s for s in self.all_sentences if s.line not in blocked and is_prose(s.text)]
        names = document_name_mentions([s.text for s in prose], self.lexicon)
        raw = [(s, numeric_mentions(s.text) + found) for s, found in zip(prose, names)]
        # One type per name across the document: a PERSON somewhere is a PERSON everywhere.
        kinds: dict[str, str] = {}
        for _, ms in raw:
            for m in ms:
                if kinds.get(m.text, "NAME") == "NAME":
                    kinds[m.text] = m.kind
        return [
            EvidenceSentence(s, tuple(sorted((_with_kind(m, kinds.get(m.text, m.kind)) for m in ms), key=_position)))
            for s, ms in raw
        ]

    def mentions_by_kind(self) -> dict[str, list[str]]:
        """Distinct fact strings per kind, in first-seen order."""
        seen: dict[str, dict[str, None]] = {}  # dicts keep insertion order, and look up in O(1)
        for es in self.evidence_sentences:
            for m in es.mentions:
                seen.setdefault(m.kind, {})[m.text] = None
        return {kind: list(texts) for kind, texts in seen.items()}

    # Indexes for passage_for: one lookup per call, so a huge one-paragraph
    # document stays linear instead of rescanning every line and sentence.
    @cached_property
    def _lines(self):
        return lines(self.doc.text)

    @cached_property
    def _boilerplate_lines(self) -> frozenset[int]:
        """Indexes of the lines inside boilerplate (its spans are whole lines, or the tail
        from a line's start), so a sentence is boilerplate exactly when its line is."""
        return frozenset(line.index for line in self._lines if overlaps(line.span, self.boilerplate))

    @cached_property
    def _line_sentences(self) -> dict[int, list[Sentence]]:
        out: dict[int, list[Sentence]] = {}
        for s in self.all_sentences:
            out.setdefault(s.line, []).append(s)
        return out

    @cached_property
    def _sentence_index(self) -> dict[Span, int]:
        return {s.span: k for same in self._line_sentences.values() for k, s in enumerate(same)}

    def span_text(self, span: Span) -> str:
        """The document's text in ``span``, one string object per span: the many rows whose
        context is the same passage share it, so a worker's result pickles it once (at
        1,000 articles, repeated contexts were 5.2 of the 27.9 MB workers sent back)."""
        text = self._span_texts.get(span)
        if text is None:
            text = self._span_texts[span] = self.doc.text[span.start : span.end]
        return text

    def passage_for(self, sentence: Sentence, max_chars: int = PASSAGE_MAX_CHARS) -> Span:
        """The context passage around a sentence: its paragraph, or a window if long."""
        para = self._lines[sentence.line]
        if sentence.line in self._boilerplate_lines:
            return sentence.span  # never hand boilerplate to a reader as context
        if para.span.end - para.span.start <= max_chars:
            return para.span
        same = self._line_sentences[sentence.line]
        i = self._sentence_index[sentence.span]
        lo, hi = i, i
        while True:
            grown = False
            if lo > 0 and same[hi].span.end - same[lo - 1].span.start <= max_chars:
                lo, grown = lo - 1, True
            if hi + 1 < len(same) and same[hi + 1].span.end - same[lo].span.start <= max_chars:
                hi, grown = hi + 1, True
            if not grown:
                break
        return Span(same[lo].span.start, same[hi].span.end)
