"""Model-written fact-check claims: paraphrased SUPPORTS and one-fact REFUTES.

``model_items_per_doc`` prompts per article, half for each label.

- SUPPORTS: the model restates one fact of a source sentence
  (``prompts/claim_supports.jinja2``); validation checks content-token recall,
  facts and negation against that sentence. A verbatim copy of the sentence is
  rejected (``copied_source``): the templated pass already publishes those.
- REFUTES: the model makes a sentence false, numbers preferred. By default
  (``refutes_style = "replace"``, suited to small base models) it writes a wrong
  value for one marked fact (``prompts/claim_refutes.jinja2``) which the pass
  substitutes; with
  ``"rewrite"`` (capable models) it rewrites the whole sentence
  (``prompts/claim_refutes_rewrite.jinja2``). Either way the change is then found by
  diffing claim and sentence (:func:`find_change`): it must be one edit inside one
  number, date or name the analysis typed (MONEY, PERCENT, DATE, YEAR, NUMBER,
  PERSON, ORG, PRODUCT, PLACE), replaced by a value of the same kind. The change is
  recorded as ``{"kind", "original", "replacement"}``; anything else is rejected with
  a reason.
"""

from __future__ import annotations

import re
from typing import Iterable, Sequence

from dsgen.analysis import EvidenceSentence
from dsgen.entities import NUMERIC_KINDS, Mention, numeric_mentions, same_number
from dsgen.passes.base import Pass, PassContext, passes
from dsgen.passes.model_common import (
    COPIED_SOURCE,
    MAX_OUTPUT_CHARS,
    Prompt,
    first_line,
    generate,
    params,
    rejection,
    text_problem,
)
from dsgen.types import Candidate, Document

SWAPPABLE = ("MONEY", "PERCENT", "DATE", "YEAR", "NUMBER", "PERSON", "ORG", "PRODUCT", "PLACE")
RESTATE_MIN_WORDS = 14
SUPPORTS_TOKENS, REPLACE_TOKENS, REWRITE_TOKENS = 32, 12, 96
#: Longest wrong value a model may propose ("replace" style).
MAX_VALUE_CHARS = 80
#: A replacement may be at most this many words longer than the fact it replaces.
MAX_EXTRA_WORDS = 3
_LABEL = re.compile(r"^(?:claim|false|change)\s*:\s*|^->\s*", re.IGNORECASE)
_NAME_JOINERS = {"of", "de", "&", "and", "the", "van", "von", "da", "di", "du", "la", "le"}
_NO_CHANGE = {"kind": "", "original": "", "replacement": ""}


class ChangeError(ValueError):
    """Why a claim is not a one-fact change of its sentence (``reason`` is a stable code)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(detail or reason)
        self.reason, self.detail = reason, detail


def find_change(sentence: str, claim: str, mentions: Sequence[Mention]) -> dict[str, str]:
    """The one fact ``claim`` changes in ``sentence``, as ``{"kind", "original", "replacement"}``.

    The diff is the region between the longest common prefix and suffix, widened to
    whole words, so everything outside it is identical by construction. That region
    must lie inside one typed fact of the sentence (it is widened to the whole fact),
    and the new value must look like the same kind of fact. Raises
    :class:`ChangeError` otherwise.
    """
    if claim == sentence:
        raise ChangeError("refutes_no_change")
    p, q = _common_affixes(sentence, claim)
    s, e = p, len(sentence) - q

    def covers(m: Mention) -> bool:  # the edit lies in the fact, or touches it across spaces only
        return not (sentence[min(m.start, s) : m.start].strip() or sentence[m.end : max(m.end, e)].strip())

    fact = next((m for m in mentions if m.kind in SWAPPABLE and covers(m)), None)
    if fact is None:
        changed = f"{sentence[s:e]!r} -> {claim[p:len(claim) - q]!r}"
        overlapping = any(m.start < e and s < m.end for m in mentions if m.kind in SWAPPABLE)
        raise ChangeError("refutes_not_single_change" if overlapping else "refutes_change_not_a_fact", changed)
    original = fact.text
    lo, hi = min(fact.start, s), max(fact.end, e)  # claim[:lo] and sentence[hi:]'s twin are unchanged
    replacement = claim[lo : len(claim) - (len(sentence) - hi)].strip()
    if not replacement or replacement.casefold() == original.casefold():
        raise ChangeError("refutes_no_change")
    if fact.kind not in NUMERIC_KINDS and (original.casefold() in replacement.casefold()
                                           or replacement.casefold() in original.casefold()):
        raise ChangeError("refutes_no_change", f"{replacement!r} still names {original!r}")
    if same_number(fact.kind, original, replacement):
        raise ChangeError("refutes_no_change", f"{replacement!r} states the same value as {original!r}")
    problem = _kind_problem(fact.kind, original, replacement)
    if problem:
        raise ChangeError("refutes_kind_mismatch", problem)
    return {"kind": fact.kind, "original": original, "replacement": replacement}


def _common_affixes(a: str, b: str) -> tuple[int, int]:
    """Lengths of the common prefix and suffix of ``a`` and ``b``, shrunk to whole words.

    "1999" -> "1987" is then a change of "1999", not of "99".
    """
    p = 0
    while p < min(len(a), len(b)) and a[p] == b[p]:
        p += 1
    q = 0
    while q < min(len(a), len(b)) - p and a[-1 - q] == b[-1 - q]:
        q += 1
    while p > 0 and _alnum(a, p - 1) and (_alnum(a, p) or _alnum(b, p)):
        p -= 1
    while q > 0 and _alnum(a, len(a) - q) and (_alnum(a, len(a) - q - 1) or _alnum(b, len(b) - q - 1)):
        q -= 1
    return p, q


def _alnum(text: str, i: int) -> bool:
    return 0 <= i < len(text) and text[i].isalnum()


def _kind_problem(kind: str, original: str, replacement: str) -> str | None:
    """Why ``replacement`` is not a fact of the same kind as ``original`` (or ``None``).

    Numbers, dates and amounts are re-typed with the same rules the analysis uses
    (``2021`` for ``four`` is a YEAR, not a NUMBER); names must be capitalized words.
    """
    if len(replacement.split()) > len(original.split()) + MAX_EXTRA_WORDS:
        return f"replacement {replacement!r} is much longer than {original!r}"
    if kind in NUMERIC_KINDS:
        found = numeric_mentions(replacement)
        if len(found) != 1 or found[0].text != replacement or found[0].kind != kind:
            return f"{replacement!r} is not a {kind} value"
    elif numeric_mentions(replacement) or not all(w[:1].isupper() or w in _NAME_JOINERS for w in replacement.split()):
        return f"{replacement!r} is not a name"
    return None


@passes.register("fact_check_model")
class FactCheckModelPass(Pass):
    """SUPPORTS paraphrases and REFUTES one-fact changes, written by the model."""

    name = "fact_check_model"
    config = "fact_check"
    method = "model"
    needs_backend = True

    def run(self, docs: Sequence[Document], ctx: PassContext) -> Iterable[Candidate]:
        style = ctx.option("refutes_style")  # "replace" or "rewrite", checked with the config
        # model_items_per_doc prompts per article, split evenly between the two labels
        limit = max(1, int(ctx.options.get("model_items_per_doc", 4)) // 2)
        supports, refutes = [], []
        for doc in docs:
            sentences = [es for es in ctx.analysis(doc).evidence_sentences if es.claimable]
            rng = ctx.rng(self.name, doc.doc_id)
            supports += [(doc, es) for es in self._sentences_to_restate(sentences, limit, rng)]
            refutes += [(doc, es, m) for es, m in self._facts_to_change(sentences, limit, rng)]

        prompt = Prompt(ctx, "claim_supports")
        outputs = generate(ctx, f"{self.name}: supports", [prompt.render(sentence=es.text) for _, es in supports],
                           params(ctx, SUPPORTS_TOKENS))
        for (doc, es), raw in zip(supports, outputs):
            yield self._supports(doc, es, raw, ctx)

        if style == "replace":
            prompt = Prompt(ctx, "claim_refutes")
            prompts = [prompt.render(sentence=es.text, fact=m.text, kind=m.kind) for _, es, m in refutes]
            decoding = params(ctx, REPLACE_TOKENS)
        else:
            prompt = Prompt(ctx, "claim_refutes_rewrite")
            prompts = [prompt.render(sentence=es.text) for _, es, _ in refutes]
            decoding = params(ctx, REWRITE_TOKENS)
        outputs = generate(ctx, f"{self.name}: refutes", prompts, decoding)
        for (doc, es, m), raw in zip(refutes, outputs):
            yield self._refutes(doc, es, m, raw, style, ctx)

    @staticmethod
    def _sentences_to_restate(sentences: list[EvidenceSentence], limit: int, rng) -> list[EvidenceSentence]:
        """Up to ``limit`` sentences, in document order; long ones with facts first.

        A long sentence has a shorter claim in it, and a fact makes the claim checkable;
        given a short one, small models mostly copy it (rejected as ``copied_source``).
        """
        preferred, others = [], []
        for es in sentences:
            (preferred if len(es.text.split()) >= RESTATE_MIN_WORDS and es.mentions else others).append(es)
        chosen = rng.sample(preferred, min(limit, len(preferred)))
        chosen += rng.sample(others, min(limit - len(chosen), len(others)))
        return sorted(chosen, key=lambda es: es.span)

    @staticmethod
    def _facts_to_change(sentences: list[EvidenceSentence], limit: int, rng) -> list[tuple[EvidenceSentence, Mention]]:
        """Up to ``limit`` (sentence, fact) pairs, one per sentence, in document order."""
        options = [(es, m) for es in sentences for m in es.mentions if m.kind in SWAPPABLE]
        rng.shuffle(options)
        # Numbers first: small models invent a new number readily, but for names they
        # mostly copy one from the same sentence, which cannot refute it.
        options.sort(key=lambda o: o[1].kind not in NUMERIC_KINDS)
        chosen, used = [], set()
        for es, m in options:
            if len(chosen) < limit and es.span not in used:
                used.add(es.span)
                chosen.append((es, m))
        return sorted(chosen, key=lambda o: o[0].span)

    def _supports(self, doc: Document, es: EvidenceSentence, raw: str, ctx: PassContext) -> Candidate:
        claim = _LABEL.sub("", first_line(raw))
        meta: dict = {"prompt": "prompts/claim_supports.jinja2"}
        problem = text_problem(claim)
        if problem is None and claim.rstrip(".") == es.text.rstrip("."):
            problem = rejection(COPIED_SOURCE, "the claim repeats its sentence verbatim")
        meta.update(problem or {})
        return self._candidate(doc, es, claim, "SUPPORTS", _NO_CHANGE, raw, meta, ctx)

    def _refutes(self, doc: Document, es: EvidenceSentence, fact: Mention, raw: str, style: str,
                 ctx: PassContext) -> Candidate:
        text = _LABEL.sub("", first_line(raw))
        meta: dict = {"prompt": f"prompts/claim_refutes{'' if style == 'replace' else '_rewrite'}.jinja2"}
        change = _NO_CHANGE
        if style == "replace":  # the model wrote a value for the marked fact
            meta["target"] = {"kind": fact.kind, "original": fact.text}
            problem = text_problem(text, cap=MAX_VALUE_CHARS, prose=False)
            value = text if fact.text.endswith(".") else text.rstrip(".;,")
            claim = es.text[: fact.start] + value + es.text[fact.end :]
        else:  # the model rewrote the whole sentence
            claim = text
            if claim and es.text[-1] in ".!" and claim[-1].isalnum():
                claim += es.text[-1]  # a dropped final full stop is not a change of fact
            problem = text_problem(claim, cap=len(es.text) + MAX_OUTPUT_CHARS // 2)
        if problem is None:
            try:
                change = find_change(es.text, claim, es.mentions)
            except ChangeError as exc:
                problem = rejection(exc.reason, exc.detail)
        meta.update(problem or {})
        return self._candidate(doc, es, claim if text else "", "REFUTES", change, raw, meta, ctx)

    def _candidate(self, doc: Document, es: EvidenceSentence, claim: str, label: str, change: dict, raw: str,
                   meta: dict, ctx: PassContext) -> Candidate:
        passage = ctx.analysis(doc).passage_for(es.sentence, ctx.option("model_context_chars"))
        return Candidate(
            config="fact_check",
            doc_id=doc.doc_id,
            pass_name=self.name,
            method=self.method,
            generator=self.generator(ctx, meta["prompt"]),
            fields={
                "claim": claim,
                "label": label,
                "context": doc.text[passage.start : passage.end],
                "context_start": passage.start,
                "change": dict(change),
            },
            evidence=(es.span,),
            raw_output=raw,
            meta=meta,
        )
