"""Model-written QA: answer-aware question generation with a roundtrip check.

Default (any model, few-shot for base models):

1. answer spans are typed facts (``ctx.analysis(doc).evidence_sentences``), up to
   ``model_items_per_doc`` per document, chosen with the seeded RNG, distinct
   sentences first;
2. the model writes a question for each answer, given its sentence
   (``prompts/qa_question.jinja2``; the question is started for it from the answer's
   kind, e.g. "When" for a date);
3. roundtrip: the model answers its own question from the published context
   (``prompts/qa_answer.jinja2``). The pair is kept only if that answer matches the
   chosen span: equal after SQuAD normalization, or token F1 >= ``ROUNDTRIP_MIN_F1``.
   A mismatch is recorded as rejected (``roundtrip_mismatch``), never dropped.

Free generation (``qa_free_generation = true`` in the build options; for capable
models): the model writes question and answer for a passage
(``prompts/qa_free.jinja2``); the answer must be found in the passage exactly or by
fuzzy alignment (``answer_not_found`` otherwise), then the same roundtrip applies.

Everything kept still goes through validation like any other candidate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Iterable, Sequence

from dsgen.analysis import EvidenceSentence
from dsgen.passes.base import Pass, PassContext, passes
from dsgen.passes.model_common import (
    EMPTY_OUTPUT,
    UNPARSEABLE_OUTPUT,
    Prompt,
    first_line,
    generate,
    locate,
    normalize_answer,
    params,
    rejection,
    text_problem,
    token_f1,
)
from dsgen.types import Candidate, Document, Span

#: Roundtrip acceptance: the model's own answer must reach this SQuAD token F1 against
#: the chosen span (0.6 accepts "In 2023" for "2023" and "more than $400 billion" for
#: "$400 billion", and rejects answers that share at most one word of three).
ROUNDTRIP_MIN_F1 = 0.6

#: How the question starts for each answer kind (the model continues from there).
QUESTION_STARTS = {
    "PERSON": "Who",
    "ORG": "Which company",
    "PRODUCT": "What",
    "PLACE": "Where",
    "YEAR": "When",
    "DATE": "When",
    "MONEY": "How much",
    "PERCENT": "What percentage",
    "NUMBER": "How many",
}
MAX_SENTENCE_WORDS = 50
QUESTION_TOKENS, ANSWER_TOKENS, FREE_TOKENS = 24, 12, 64
_LABEL = re.compile(r"^(?:question|q)\s*:\s*", re.IGNORECASE)


@dataclass(frozen=True)
class _Item:
    """One question to write: where it comes from and what it has produced so far."""

    doc: Document
    sentence: EvidenceSentence | None
    passage: Span
    kind: str = ""
    answer: str = ""
    answer_start: int = -1  # document offset; -1 while unknown (free generation)
    question: str = ""
    raw: str = ""
    reject: dict | None = None
    info: dict = field(default_factory=dict)  # roundtrip outcome, for meta


@passes.register("qa_model")
class QAModelPass(Pass):
    """Questions written by the model for chosen answers, kept if it can answer them."""

    name = "qa_model"
    config = "qa"
    method = "model"
    needs_backend = True

    def run(self, docs: Sequence[Document], ctx: PassContext) -> Iterable[Candidate]:
        free = ctx.option("qa_free_generation")
        items = self._free_questions(docs, ctx) if free else self._answer_aware_questions(docs, ctx)
        items = self._roundtrip(items, ctx)
        for item in items:
            yield self._candidate(item, ctx, "qa_free" if free else "qa_question")

    # ------------------------------------------------------------------ stage 1

    def _answer_aware_questions(self, docs: Sequence[Document], ctx: PassContext) -> list[_Item]:
        items = [item for doc in docs for item in self._pick_answers(doc, ctx)]
        prompt = Prompt(ctx, "qa_question")
        prompts = [prompt.render(sentence=i.sentence.text, answer=i.answer, kind=i.kind,
                                 question_start=QUESTION_STARTS[i.kind]) for i in items]
        outputs = generate(ctx, f"{self.name}: questions", prompts, params(ctx, QUESTION_TOKENS))
        return [self._parse_question(item, raw) for item, raw in zip(items, outputs)]

    def _pick_answers(self, doc: Document, ctx: PassContext) -> list[_Item]:
        analysis = ctx.analysis(doc)
        limit = int(ctx.options.get("model_items_per_doc", 4))
        options = [(es, m) for es in analysis.evidence_sentences if len(es.text.split()) <= MAX_SENTENCE_WORDS
                   for m in es.mentions if m.kind in QUESTION_STARTS]
        rng = ctx.rng(self.name, doc.doc_id)
        rng.shuffle(options)
        # Distinct sentences first, then distinct answers: one long sentence or the
        # article's main subject should not take every slot.
        firsts, rest = [], []
        used_sentences: set[Span] = set()
        used_answers: set[str] = set()
        for es, m in options:
            if es.span in used_sentences or m.text in used_answers:
                rest.append((es, m))
            else:
                firsts.append((es, m))
                used_sentences.add(es.span)
                used_answers.add(m.text)
        chosen = sorted((firsts + rest)[:limit], key=lambda o: (o[0].span.start, o[1].start))
        max_chars = ctx.option("model_context_chars")
        return [
            _Item(doc, es, analysis.passage_for(es.sentence, max_chars), m.kind, m.text, es.span.start + m.start)
            for es, m in chosen
        ]

    def _parse_question(self, item: _Item, raw: str) -> _Item:
        start = QUESTION_STARTS[item.kind]
        text = _LABEL.sub("", first_line(raw))
        if not text:
            return replace(item, raw=raw, reject=rejection(EMPTY_OUTPUT))
        if not text.casefold().startswith(start.casefold()):
            text = start + ("" if text[:1] in "'’,?" else " ") + text
        return self._finish_question(item, text, raw)

    def _finish_question(self, item: _Item, text: str, raw: str) -> _Item:
        """Keep the text up to the first "?" (models often go on with an answer)."""
        end = text.find("?")
        if end < 0:
            return replace(item, question=text, raw=raw, reject=rejection(UNPARSEABLE_OUTPUT, "no question found"))
        question = text[: end + 1]
        question = question[:1].upper() + question[1:]
        return replace(item, question=question, raw=raw, reject=text_problem(question))

    def _free_questions(self, docs: Sequence[Document], ctx: PassContext) -> list[_Item]:
        items = []
        limit = int(ctx.options.get("model_items_per_doc", 4))
        max_chars = ctx.option("model_context_chars")
        for doc in docs:
            analysis = ctx.analysis(doc)
            # Distinct passages in document order (a dict: a long article has thousands).
            passages = list(dict.fromkeys(analysis.passage_for(es.sentence, max_chars)
                                          for es in analysis.evidence_sentences))
            rng = ctx.rng(self.name, "free", doc.doc_id)
            chosen = sorted(rng.sample(passages, min(limit, len(passages))))
            items += [_Item(doc, None, span) for span in chosen]
        prompt = Prompt(ctx, "qa_free")
        prompts = [prompt.render(passage=i.doc.text[i.passage.start : i.passage.end]) for i in items]
        outputs = generate(ctx, f"{self.name}: questions", prompts, params(ctx, FREE_TOKENS))
        return [self._parse_free(item, raw, ctx) for item, raw in zip(items, outputs)]

    def _parse_free(self, item: _Item, raw: str, ctx: PassContext) -> _Item:
        text = _LABEL.sub("", first_line(raw))
        if not text:
            return replace(item, raw=raw, reject=rejection(EMPTY_OUTPUT))
        m = re.match(r"(?P<q>.+?\?)\s*(?:answer|a)\s*:\s*(?P<a>.+)$", text, re.IGNORECASE)
        if not m:
            return replace(item, question=text, raw=raw, reject=rejection(UNPARSEABLE_OUTPUT, "expected 'question? Answer: answer'"))
        answer = m.group("a").strip().rstrip(".").strip()
        item = self._finish_question(item, m.group("q").strip(), raw)
        if item.reject:
            return replace(item, answer=answer)
        context = item.doc.text[item.passage.start : item.passage.end]
        found = locate(answer, context)
        if found is None:
            return replace(item, answer=answer, reject=rejection("answer_not_found", repr(answer)))
        offset, text = found
        start = item.passage.start + offset
        sentence = next((es for es in ctx.analysis(item.doc).evidence_sentences
                         if es.span.start <= start and start + len(text) <= es.span.end), None)
        if sentence is None:  # the answer straddles sentences: no single evidence span holds it
            return replace(item, answer=text, answer_start=start, reject=rejection("answer_not_found", f"{text!r} spans sentences"))
        return replace(item, sentence=sentence, answer=text, answer_start=start)

    # ------------------------------------------------------------------ stage 2

    def _roundtrip(self, items: list[_Item], ctx: PassContext) -> list[_Item]:
        """Ask the model its own questions; mark pairs whose answer does not match."""
        todo = [i for i, item in enumerate(items) if not item.reject and not _contains(item.question, item.answer)]
        prompt = Prompt(ctx, "qa_answer")
        prompts = [prompt.render(passage=items[i].doc.text[items[i].passage.start : items[i].passage.end],
                                 question=items[i].question) for i in todo]
        outputs = generate(ctx, f"{self.name}: roundtrip", prompts, params(ctx, ANSWER_TOKENS))
        out = list(items)
        for i, raw in zip(todo, outputs):
            predicted = re.sub(r"^(?:answer|a)\s*:\s*", "", first_line(raw), flags=re.IGNORECASE).rstrip(".").strip()
            f1 = token_f1(predicted, items[i].answer)
            info = {"roundtrip_answer": predicted, "roundtrip_f1": round(f1, 3)}
            if normalize_answer(predicted) == normalize_answer(items[i].answer) or f1 >= ROUNDTRIP_MIN_F1:
                out[i] = replace(items[i], info=info)
            else:
                detail = f"model answered {predicted!r}, expected {items[i].answer!r} (F1 {f1:.2f} < {ROUNDTRIP_MIN_F1})"
                out[i] = replace(items[i], info=info, reject=rejection("roundtrip_mismatch", detail))
        return out

    # ------------------------------------------------------------------ output

    def _candidate(self, item: _Item, ctx: PassContext, prompt_name: str) -> Candidate:
        context = item.doc.text[item.passage.start : item.passage.end]
        relative = item.answer_start - item.passage.start if item.answer_start >= 0 else -1
        meta = {"answer_kind": item.kind, "prompt": f"prompts/{prompt_name}.jinja2"}
        meta.update(item.info)
        if item.reject:
            meta.update(item.reject)
        return Candidate(
            config="qa",
            doc_id=item.doc.doc_id,
            pass_name=self.name,
            method=self.method,
            generator=self.generator(ctx, f"prompts/{prompt_name}.jinja2"),
            fields={
                "context": context,
                "context_start": item.passage.start,
                "question": item.question,
                "answers": {"text": [item.answer], "answer_start": [relative]},
            },
            evidence=(item.sentence.span,) if item.sentence else (item.passage,),
            raw_output=item.raw,
            meta=meta,
        )


def _contains(question: str, answer: str) -> bool:
    """The validation rule: the answer must not appear verbatim in the question."""
    return bool(answer) and bool(re.search(r"(?<!\w)" + re.escape(answer.casefold()) + r"(?!\w)", question.casefold()))
