"""Templated fact-check claims: SUPPORTS, REFUTES and NOT ENOUGH INFO.

- SUPPORTS: a source sentence, verbatim.
- REFUTES: a source sentence with one checkable fact (number, date, name or
  organization) swapped for another of the same kind from the same article (a number
  for one written the same way: a word for a word, a decimal for a decimal); the
  change is recorded.
- NOT ENOUGH INFO: a sentence from another article whose facts this article does
  not contain (checked again by validation).

Claims are drawn from sentences that say what they are about (see
:func:`~dsgen.text.stands_alone`: not "It is ...", "However, ...") first, and from the
others only when there are too few.

A claim the pass has made for one article of a chunk is not made again for another
(the same sentence as SUPPORTS in one and NOT ENOUGH INFO in its neighbour, or a
sentence two articles share): the deduper would reject the second row, so the pass
picks another sentence instead.
"""

from __future__ import annotations

from typing import Iterable, Iterator, Sequence

from dsgen.analysis import EvidenceSentence
from dsgen.entities import Mention, number_form
from dsgen.passes.base import Pass, PassContext, passes
from dsgen.support import closest_evidence, nei_problem
from dsgen.types import Candidate, Document

# Places are left out: swapping "Beijing" for "China" is metonymy, not a contradiction.
SWAPPABLE = ("MONEY", "PERCENT", "DATE", "YEAR", "NUMBER", "PERSON", "ORG", "PRODUCT")
#: Other articles a document borrows NOT ENOUGH INFO claims from (its neighbours in the build).
NEI_NEIGHBOURS = 8
#: Borrowed sentences checked per NOT ENOUGH INFO claim wanted. Each check reads the whole
#: article, so trying every sentence of long neighbours cost their length times its length.
#: On the seeds and the benchmark's corpus no claim needed more than 22 tries in all.
NEI_TRIES_PER_CLAIM = 8


@passes.register("fact_check_template")
class FactCheckTemplatePass(Pass):
    """Claims from source sentences, one-fact swaps and other articles' facts."""

    name = "fact_check_template"
    config = "fact_check"
    method = "template"

    def run(self, docs: Sequence[Document], ctx: PassContext) -> Iterable[Candidate]:
        per_label = ctx.option("claims_per_label")
        pool = list(ctx.neighbours) or list(docs)
        position = {d.doc_id: i for i, d in enumerate(pool)}
        # doc id -> its sentences usable as NOT ENOUGH INFO claims: those that stand alone, the others
        claims: dict[str, tuple[list[EvidenceSentence], list[EvidenceSentence]]] = {}
        used: set[str] = set()  # the claims made so far in this chunk
        for doc in docs:
            analysis = ctx.analysis(doc)
            sentences = [es for es in analysis.evidence_sentences if es.claimable]
            rng = ctx.rng(self.name, doc.doc_id)
            fresh = [es for es in sentences if es.text not in used]
            supported = _sample_standalone_first(rng, fresh, per_label)
            made = [*self._supports(doc, ctx, supported),
                    *self._refutes(doc, ctx, sentences, per_label, rng, {es.span.start for es in supported})]
            used.update(c.fields["claim"] for c in made)
            yield from made
            others = [d for d in nearby(pool, position.get(doc.doc_id)) if d.doc_id != doc.doc_id]
            yield from self._not_enough_info(doc, ctx, others, claims, per_label, rng, used)

    def _candidate(self, doc: Document, ctx: PassContext, claim: str, label: str, evidence: EvidenceSentence,
                   generator: str, change: dict | None = None) -> Candidate:
        """The row of ``claim``: ``evidence`` is the sentence of ``doc`` it is judged
        against, and the context is that sentence's passage, for every label alike (a
        NOT ENOUGH INFO context of the sentence alone was a third of the others' length,
        which told a model the label without reading the claim)."""
        passage = ctx.analysis(doc).passage_for(evidence.sentence)
        return Candidate(
            config="fact_check",
            doc_id=doc.doc_id,
            pass_name=self.name,
            method=self.method,
            generator=generator,
            fields={
                "claim": claim,
                "label": label,
                "context": ctx.analysis(doc).span_text(passage),
                "context_start": passage.start,
                "change": change or {"kind": "", "original": "", "replacement": ""},
            },
            evidence=(evidence.span,),
        )

    def _supports(self, doc, ctx, chosen: list[EvidenceSentence]) -> Iterable[Candidate]:
        for es in sorted(chosen, key=lambda e: e.span.start):
            yield self._candidate(doc, ctx, es.text, "SUPPORTS", es, "fact_check/verbatim")

    def _refutes(self, doc, ctx, sentences, limit, rng, supported: set[int]) -> Iterable[Candidate]:
        """Up to ``limit`` claims, each a sentence with one fact swapped: sentences that
        stand alone first, and those not drawn as SUPPORTS claims (at the ``supported``
        offsets) before those that are, whose refutation the deduper would reject as a
        near-duplicate of the SUPPORTS row."""
        by_kind = ctx.analysis(doc).mentions_by_kind()

        def alternatives(es: EvidenceSentence, m: Mention) -> Iterator[str]:
            """Facts of the same kind that could replace ``m`` in ``es`` (numbers: written
            in the same form, see :func:`~dsgen.entities.number_form`)."""
            lower = m.text.lower()
            form = number_form(m.text) if m.kind == "NUMBER" else None
            return (v for v in by_kind.get(m.kind, ()) if v != m.text and v not in es.text
                    and v.lower() not in lower and lower not in v.lower()
                    and (form is None or number_form(v) == form))

        # Whether a fact has an alternative is usually known after a value or two; the
        # whole list only for the few facts drawn (a long article holds thousands of
        # values per kind: listing them for every fact was quadratic, in time and memory).
        options = [(es, m) for es in sentences for m in es.mentions
                   if m.kind in SWAPPABLE and next(alternatives(es, m), None) is not None]
        rng.shuffle(options)
        options.sort(key=lambda option: (option[0].span.start in supported, not option[0].stands_alone))
        used: set[int] = set()
        out = []
        for es, m in options:
            if len(out) >= limit or es.span.start in used:
                continue
            replacement = rng.choice(sorted(alternatives(es, m)))
            if m.kind == "NUMBER" and replacement.isalpha():  # a number word, cased as the one it replaces
                replacement = replacement.capitalize() if m.text[:1].isupper() else replacement.lower()
            claim = es.text[: m.start] + replacement + es.text[m.end :]
            if claim in doc.text:
                continue  # the "false" claim is stated elsewhere: not a refutation
            used.add(es.span.start)
            change = {"kind": m.kind, "original": m.text, "replacement": replacement}
            out.append(self._candidate(doc, ctx, claim, "REFUTES", es, f"fact_check/swap_{m.kind.lower()}", change))
        yield from sorted(out, key=lambda c: c.evidence[0].start)

    def _not_enough_info(self, doc, ctx, others, claims, limit, rng, used: set[str]) -> Iterable[Candidate]:
        """Up to ``limit`` claims from ``others``' sentences, none of them in ``used`` (to
        which each is added): sentences that stand alone first, in random order, then
        (if too few of them would do) the others."""
        analysis = ctx.analysis(doc)
        alone: list[EvidenceSentence] = []
        rest: list[EvidenceSentence] = []
        for other in others:
            if other.doc_id not in claims:
                usable = [es for es in ctx.analysis(other).evidence_sentences
                          if es.claimable and any(m.kind in SWAPPABLE for m in es.mentions)]
                claims[other.doc_id] = ([es for es in usable if es.stands_alone],
                                        [es for es in usable if not es.stands_alone])
            alone.extend(claims[other.doc_id][0])
            rest.extend(claims[other.doc_id][1])
        count = tries = 0
        for options in (alone, rest):
            rng.shuffle(options)
            for es in options:
                if count >= limit or tries >= NEI_TRIES_PER_CLAIM * limit:
                    return
                if es.text in used:
                    continue  # its row would be a duplicate: not a try
                tries += 1
                if nei_problem(es.text, doc.text, analysis.sentence_texts) is not None:
                    continue  # this article might support it: not usable as NOT ENOUGH INFO
                nearest = closest_evidence(es.text, analysis)
                if nearest is None:
                    continue
                count += 1
                used.add(es.text)
                yield self._candidate(doc, ctx, es.text, "NOT ENOUGH INFO", nearest, "fact_check/other_article")


def _sample_standalone_first(rng, sentences: list[EvidenceSentence], k: int) -> list[EvidenceSentence]:
    """``k`` of ``sentences`` drawn at random, those that :func:`~dsgen.text.stands_alone`
    first, then (if there are fewer) the others."""
    alone = [es for es in sentences if es.stands_alone]
    picked = rng.sample(alone, min(k, len(alone)))
    if len(picked) < k:
        rest = [es for es in sentences if not es.stands_alone]
        picked += rng.sample(rest, min(k - len(picked), len(rest)))
    return picked


def nearby(pool: Sequence[Document], i: int | None, size: int = NEI_NEIGHBOURS) -> Sequence[Document]:
    """The ``size`` documents around position ``i`` of ``pool`` (plus ``i`` itself).

    NOT ENOUGH INFO claims come from these, so the cost per document stays
    constant however large the pool (a chunk of the build) is.
    """
    if i is None or len(pool) <= size + 1:
        return pool
    lo = max(0, min(i - size // 2, len(pool) - size - 1))
    return pool[lo : lo + size + 1]
