"""Templated extractive summaries: lead sentences and centroid-selected sentences."""

from __future__ import annotations

import math
from typing import Iterable, Sequence

from dsgen.analysis import EvidenceSentence
from dsgen.passes.base import Pass, PassContext, passes
from dsgen.support import content_tokens
from dsgen.types import Candidate, Document


def centroid_order(sentences: Sequence[EvidenceSentence]) -> list[int]:
    """Indices of ``sentences`` by TF-IDF cosine to the document centroid, best first."""
    # A sentence's tokens are a set (each counts once), sorted: float sums must not
    # depend on set order (which varies with PYTHONHASHSEED).
    bags = [sorted(content_tokens(es.text)) for es in sentences]
    df: dict[str, int] = {}
    for bag in bags:
        for t in bag:
            df[t] = df.get(t, 0) + 1
    n = len(bags)
    weight = {t: math.log(1 + n / d) for t, d in df.items()}
    # The centroid sums each token's weight once per sentence that has it, one
    # addition at a time as a running sum would.
    centroid = {}
    for t, d in df.items():
        w, total = weight[t], 0.0
        for _ in range(d):
            total = w + total
        centroid[t] = total

    # Each token's terms of the dot product and the norm, once: the sums below add the
    # same floats in the same order as summing the products token by token.
    dot_term = {t: w * centroid[t] for t, w in weight.items()}
    norm_term = {t: w * w for t, w in weight.items()}

    def cosine(bag: list[str]) -> float:
        dot = sum(map(dot_term.__getitem__, bag))
        norm = math.sqrt(sum(map(norm_term.__getitem__, bag))) or 1.0
        return dot / norm

    return sorted(range(n), key=lambda i: (-cosine(bags[i]), i))


@passes.register("summarization_template")
class SummaryTemplatePass(Pass):
    """``lead-k`` and ``centroid-k`` extractive summaries, sentences in document order."""

    name = "summarization_template"
    config = "summarization"
    method = "template"

    def run(self, docs: Sequence[Document], ctx: PassContext) -> Iterable[Candidate]:
        k = int(ctx.options.get("summary_sentences", 3))
        for doc in docs:
            sentences = ctx.analysis(doc).evidence_sentences
            if not sentences:
                continue
            picks = {
                f"summarization/lead-{k}": list(range(min(k, len(sentences)))),
                f"summarization/centroid-{k}": sorted(centroid_order(sentences)[:k]),
            }
            seen: set[tuple[int, ...]] = set()
            for generator, idx in picks.items():
                if tuple(idx) in seen:
                    continue
                seen.add(tuple(idx))
                chosen = [sentences[i] for i in idx]
                yield Candidate(
                    config="summarization",
                    doc_id=doc.doc_id,
                    pass_name=self.name,
                    method=self.method,
                    generator=generator,
                    fields={"summary": " ".join(es.text for es in chosen)},
                    evidence=tuple(es.span for es in chosen),
                )
