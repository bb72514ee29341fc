"""Templated extractive summaries: lead sentences and centroid-selected sentences."""

from __future__ import annotations

import math
from collections import Counter
from itertools import chain
from typing import Iterable, Sequence

from dsgen.analysis import EvidenceSentence
from dsgen.passes.base import Pass, PassContext, passes
from dsgen.support import content_tokens
from dsgen.text import opens_with_connective
from dsgen.types import Candidate, Document


#: A centroid pick has less than this share of the content words of the shorter of it and any
#: earlier pick in common with it: an article that says something twice (a spliced paragraph,
#: a pull quote) has two sentences near the centroid, and the summary would repeat itself.
REPEAT_OVERLAP = 0.8


def centroid_order(sentences: Sequence[EvidenceSentence]) -> list[int]:
    """Indices of ``sentences`` by TF-IDF cosine to the document centroid, best first."""
    # A sentence's tokens are a set (each counts once), sorted: float sums must not
    # depend on set order (which varies with PYTHONHASHSEED).
    bags = [sorted(content_tokens(es.text)) for es in sentences]
    n = len(bags)
    df = Counter(chain.from_iterable(bags))
    # Per document frequency d: the weight w = log(1 + n / d), the centroid value c of a
    # token with that weight (w summed once per sentence that has it, one addition at a
    # time as a running sum would), and its terms of the dot product (w * c) and the norm
    # (w * w). Tokens with the same d share them, so they are computed once per d (a
    # handful) instead of once per token; the sums below still add the same floats in
    # the same order as summing products token by token.
    dot_term: dict[int, float] = {}
    norm_term: dict[int, float] = {}
    for d in set(df.values()):
        w, c = math.log(1 + n / d), 0.0
        for _ in range(d):
            c = w + c
        dot_term[d] = w * c
        norm_term[d] = w * w

    def cosine(bag: list[str]) -> float:
        dfs = list(map(df.__getitem__, bag))
        dot = sum(map(dot_term.__getitem__, dfs))
        norm = math.sqrt(sum(map(norm_term.__getitem__, dfs))) or 1.0
        return dot / norm

    # Sorting is stable: sentences with the same score stay in document order.
    return sorted(range(n), key=[-cosine(bag) for bag in bags].__getitem__)


def summary_picks(sentences: Sequence[EvidenceSentence], k: int) -> dict[str, list[int]]:
    """The ``lead-k`` and ``centroid-k`` selections of ``sentences``, as indices in document
    order, without an empty or repeated one. Centroid picks skip sentences that open with a
    connective (see :func:`~dsgen.text.opens_with_connective`): a centroid summary joins
    sentences from anywhere in the article, so such a sentence would answer something the
    summary left out (lead summaries keep them: their sentences follow one another). They
    skip sentences that repeat an earlier pick too (see ``REPEAT_OVERLAP``)."""
    central: list[int] = []
    picked: list[frozenset[str]] = []
    for i in centroid_order(sentences):
        if len(central) == k:
            break
        if opens_with_connective(sentences[i].text):
            continue
        tokens = content_tokens(sentences[i].text)
        if any(_repeats(tokens, other) for other in picked):
            continue
        central.append(i)
        picked.append(tokens)
    picks: dict[str, list[int]] = {}
    for name, idx in ((f"lead-{k}", list(range(min(k, len(sentences))))), (f"centroid-{k}", sorted(central))):
        if idx and idx not in picks.values():
            picks[name] = idx
    return picks


def _repeats(a: frozenset[str], b: frozenset[str]) -> bool:
    """Whether two sentences' content words overlap by ``REPEAT_OVERLAP`` of the smaller set."""
    return bool(a) and bool(b) and len(a & b) >= REPEAT_OVERLAP * min(len(a), len(b))


@passes.register("summarization_template")
class SummaryTemplatePass(Pass):
    """``lead-k`` and ``centroid-k`` extractive summaries, sentences in document order."""

    name = "summarization_template"
    config = "summarization"
    method = "template"

    def run(self, docs: Sequence[Document], ctx: PassContext) -> Iterable[Candidate]:
        k = ctx.option("summary_sentences")
        for doc in docs:
            sentences = ctx.analysis(doc).evidence_sentences
            if not sentences:
                continue
            for name, idx in summary_picks(sentences, k).items():
                chosen = [sentences[i] for i in idx]
                yield Candidate(
                    config="summarization",
                    doc_id=doc.doc_id,
                    pass_name=self.name,
                    method=self.method,
                    generator=f"summarization/{name}",
                    fields={"summary": " ".join(es.text for es in chosen)},
                    evidence=tuple(es.span for es in chosen),
                )
