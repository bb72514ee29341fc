"""Model-written (abstractive) summaries of a document's key sentences.

The model rewrites the same selections the templated pass extracts: the lead
sentences and the sentences closest to the document centroid (``summary_sentences``,
default 3, joined on one line and capped at ``SOURCE_MAX_CHARS`` so prompts stay short
for small models). Each summary sentence cites the source sentences it aligns to
(greedy cover by content-token recall, ``dsgen.support.token_recall``); validation
then requires every summary sentence to reach ``SUMMARY_MIN_RECALL`` against the cited
evidence and every number and name to occur in the source.
"""

from __future__ import annotations

import re
from typing import Iterable, Sequence

from dsgen.analysis import EvidenceSentence
from dsgen.passes.base import Pass, PassContext, passes
from dsgen.passes.model_common import (
    COPIED_SOURCE,
    UNPARSEABLE_OUTPUT,
    Prompt,
    first_line,
    generate,
    is_complete,
    params,
    rejection,
    text_problem,
)
from dsgen.passes.summary_template import summary_picks
from dsgen.support import token_recall
from dsgen.text import is_prose, sentences
from dsgen.types import Candidate, Document, Span

SOURCE_MAX_CHARS = 700
SUMMARY_TOKENS = 48
MAX_SUMMARY_CHARS = 400
_LABEL = re.compile(r"^summary\s*:\s*", re.IGNORECASE)


def complete_sentences(text: str) -> str:
    """``text`` without an unfinished last sentence (cut off by the token limit).

    Sentences are found as everywhere in dsgen (:mod:`dsgen.sentences`), so
    "Alibaba Group Holding Ltd. is mount" is one unfinished sentence, not a finished one.
    """
    found = sentences(text)
    while found and not is_complete(found[-1].text):
        found.pop()
    return text[: found[-1].span.end].strip() if found else ""


def align(summary: str, source: Sequence[EvidenceSentence]) -> tuple[Span, ...]:
    """Source sentences each summary sentence aligns to, in document order.

    Per summary sentence, greedily add the source sentence that raises its
    content-token recall most, until nothing raises it.
    """
    cited: set[Span] = set()
    for sent in sentences(summary):
        chosen: list[EvidenceSentence] = []
        best = 0.0
        while True:
            gains = [(token_recall(sent.text, " ".join(c.text for c in chosen + [es])), -i, es)
                     for i, es in enumerate(source) if es not in chosen]
            if not gains:
                break
            recall, _, es = max(gains, key=lambda g: (g[0], g[1]))
            if recall <= best:
                break
            chosen.append(es)
            best = recall
        cited.update(es.span for es in chosen)
    return tuple(sorted(cited)) or (source[0].span,)


@passes.register("summarization_model")
class SummaryModelPass(Pass):
    """One-line abstractive summaries of the lead and the central sentences."""

    name = "summarization_model"
    config = "summarization"
    method = "model"
    needs_backend = True

    def run(self, docs: Sequence[Document], ctx: PassContext) -> Iterable[Candidate]:
        jobs = [(doc, picked) for doc in docs for picked in self._selections(doc, ctx)]
        prompt = Prompt(ctx, "summary")
        prompts = [prompt.render(text=" ".join(es.text for es in picked)) for _, picked in jobs]
        outputs = generate(ctx, f"{self.name}: summaries", prompts, params(ctx, SUMMARY_TOKENS))
        for (doc, picked), raw in zip(jobs, outputs):
            yield self._candidate(doc, picked, raw, ctx)

    def _selections(self, doc: Document, ctx: PassContext) -> list[list[EvidenceSentence]]:
        """Lead-k and centroid-k sentences (distinct, at most ``model_items_per_doc``)."""
        found = ctx.analysis(doc).evidence_sentences
        if not found:
            return []
        k = ctx.option("summary_sentences")
        out: list[list[EvidenceSentence]] = []
        for idx in summary_picks(found, k).values():
            picked = [found[i] for i in idx]
            while len(picked) > 1 and sum(len(es.text) + 1 for es in picked) > SOURCE_MAX_CHARS:
                picked.pop()
            if picked not in out:
                out.append(picked)
        return out[: max(1, int(ctx.options.get("model_items_per_doc", 4)))]

    def _candidate(self, doc: Document, picked: list[EvidenceSentence], raw: str, ctx: PassContext) -> Candidate:
        text = _LABEL.sub("", first_line(raw))
        # Keep whole sentences within the cap: a summary cut off by the token limit
        # loses its unfinished tail rather than being published mid-sentence.
        summary = complete_sentences(text[:MAX_SUMMARY_CHARS])
        meta: dict = {"prompt": "prompts/summary.jinja2", "source_sentences": len(picked)}
        problem = text_problem(summary or text[:MAX_SUMMARY_CHARS], cap=MAX_SUMMARY_CHARS)
        if problem is None and not is_prose(summary):
            problem = rejection(UNPARSEABLE_OUTPUT, "not a sentence of six words or more")
        if problem is None and all(sent.text in doc.text for sent in sentences(summary)):
            problem = rejection(COPIED_SOURCE, "every sentence is copied from the article")
        meta.update(problem or {})
        return Candidate(
            config="summarization",
            doc_id=doc.doc_id,
            pass_name=self.name,
            method=self.method,
            generator=self.generator(ctx, "prompts/summary.jinja2"),
            fields={"summary": summary or text},
            evidence=align(summary, picked) if summary else tuple(es.span for es in picked),
            raw_output=raw,
            meta=meta,
        )
