"""Shared plumbing of the model-assisted passes: prompts in, defensively parsed text out.

- Prompts are user-editable templates (``templates/prompts/*.jinja2``). Every value
  taken from an article is collapsed onto one line before it fills its slot, so an
  article (or text hidden in it) can never add lines to the few-shot frame: it stays
  data inside the passage slot.
- Model output is untrusted: :func:`first_line` keeps its first line, whitespace
  collapsed; :func:`text_problem` rejects it when empty, over a length cap, garbage or
  unfinished. Passes turn anything unusable into a candidate that carries
  ``meta["reject_reason"]``, which the build records in ``rejected.jsonl`` with the raw
  output instead of validating it: nothing is dropped silently.
- :func:`generate` sends all prompts of one stage in a single backend call (so the
  backend can batch and the cache can persist chunk by chunk) and reports progress.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from typing import TYPE_CHECKING, Any, Sequence

from dsgen.backends.base import GenerationParams, GenerationRequest
from dsgen.entities import NUMBER_WORDS
from dsgen.errors import BackendError
from dsgen.text import ends_like_sentence

if TYPE_CHECKING:
    from dsgen.passes.base import PassContext

#: Longest question or claim a pass accepts from a model (longer output is rejected).
MAX_OUTPUT_CHARS = 300

#: Reject reasons a model pass can give before validation sees a candidate.
EMPTY_OUTPUT = "empty_output"
UNPARSEABLE_OUTPUT = "unparseable_output"
#: The model repeated its source verbatim: valid text, but not model-written (the
#: templated passes already publish extracts).
COPIED_SOURCE = "copied_source"


def one_line(text: str) -> str:
    """``text`` with every run of whitespace (newlines included) collapsed to one space."""
    return " ".join(str(text).split())


class Prompt:
    """A prompt template from ``templates/prompts/<name>.jinja2``.

    String variables are collapsed onto one line before rendering (see module doc).
    """

    def __init__(self, ctx: "PassContext", name: str) -> None:
        self.name = name
        self._template = ctx.templates.load(f"prompts/{name}.jinja2")

    def render(self, **variables: Any) -> str:
        safe = {k: one_line(v) if isinstance(v, str) else v for k, v in variables.items()}
        return self._template.render(**safe).rstrip(" ")


def params(ctx: "PassContext", max_new_tokens: int, stop: tuple[str, ...] = ("\n",)) -> GenerationParams:
    """Decoding settings: greedy unless the build asked for a temperature (then seeded)."""
    return GenerationParams(
        max_new_tokens=max_new_tokens,
        temperature=float(ctx.options.get("temperature") or 0.0),
        seed=ctx.seed,
        stop=stop,
    )


def generate(ctx: "PassContext", stage: str, prompts: Sequence[str], decoding: GenerationParams) -> list[str]:
    """Complete ``prompts`` in one backend call; report ``progress(stage, done, total)``.

    ``ctx.options["progress"]`` (set by the build) receives per-chunk updates when the
    backend exposes a ``progress`` hook (the cache and the transformers backend do),
    otherwise one update at the end.
    """
    if not prompts:
        return []
    if ctx.backend is None:
        raise BackendError(f"{stage} needs a model backend (use --backend transformers or openai)")
    report = ctx.options.get("progress")
    total = len(prompts)
    requests = [GenerationRequest(p, decoding) for p in prompts]
    if report is None:
        return _checked(ctx.backend.generate(requests), total)
    report(stage, 0, total)
    done = 0

    def tick(n: int) -> None:
        nonlocal done
        done = min(total, done + n)
        report(stage, done, total)

    hooked = hasattr(ctx.backend, "progress")
    previous = getattr(ctx.backend, "progress", None)
    if hooked:
        ctx.backend.progress = tick
    try:
        outputs = _checked(ctx.backend.generate(requests), total)
    finally:
        if hooked:
            ctx.backend.progress = previous
    if done < total:
        report(stage, total, total)
    return outputs


def _checked(outputs: list[str], expected: int) -> list[str]:
    if len(outputs) != expected:
        raise BackendError(f"backend returned {len(outputs)} completions for {expected} prompts")
    return outputs


def first_line(raw: str | None) -> str:
    """The first non-empty line of ``raw``, whitespace-collapsed.

    Only the first ``10 * MAX_OUTPUT_CHARS`` characters are looked at, so a runaway
    server reply costs nothing; passes reject lines longer than they can use.
    """
    for line in (raw or "")[: 10 * MAX_OUTPUT_CHARS].splitlines():
        if line.strip():
            return one_line(line)
    return ""


def text_problem(text: str, cap: int = MAX_OUTPUT_CHARS, prose: bool = True) -> dict | None:
    """A rejection (``Candidate.meta``) for unusable output text, or ``None``.

    Empty or longer than ``cap`` characters; for ``prose`` also garbage (see
    :func:`looks_like_text`) or unfinished (cut off by the token limit).
    """
    if not text:
        return rejection(EMPTY_OUTPUT)
    if len(text) > cap:
        return rejection(UNPARSEABLE_OUTPUT, f"longer than {cap} characters")
    if prose and not looks_like_text(text):
        return rejection(UNPARSEABLE_OUTPUT, "not text")
    if prose and not is_complete(text):
        return rejection(UNPARSEABLE_OUTPUT, "unfinished sentence")
    return None


def is_complete(text: str) -> bool:
    """Ends like a sentence (output cut off by the token limit does not)."""
    return ends_like_sentence(text)


def looks_like_text(text: str) -> bool:
    """A cheap garbage filter: enough letters, and not one token repeated over and over."""
    letters = sum(ch.isalpha() for ch in text)
    if letters < 3 or letters < len(text) * 0.4:
        return False
    tokens = text.lower().split()
    if len(tokens) >= 6:
        _, top = Counter(tokens).most_common(1)[0]
        if top / len(tokens) > 0.5:
            return False
    return True


def rejection(reason: str, detail: str = "") -> dict[str, str]:
    """``Candidate.meta`` entries for a candidate the pass already knows is unusable."""
    return {"reject_reason": reason, "reject_detail": detail}


# ------------------------------------------------------------------ answer matching

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = str.maketrans("", "", string.punctuation + "“”‘’–—")


def normalize_answer(text: str) -> str:
    """SQuAD normalization (lower case, no punctuation, no articles, single spaces),
    plus number words as digits, so "4 years" matches "four"."""
    tokens = _ARTICLES.sub(" ", text.lower().translate(_PUNCT)).split()
    return " ".join(str(NUMBER_WORDS.get(t, t)) for t in tokens)


def token_f1(prediction: str, reference: str) -> float:
    """SQuAD token F1 between two answers (1.0 when both normalize to nothing)."""
    pred, ref = normalize_answer(prediction).split(), normalize_answer(reference).split()
    if not pred or not ref:
        return float(pred == ref)
    common = sum((Counter(pred) & Counter(ref)).values())
    if not common:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


#: Fuzzy alignment score (rapidfuzz ``partial_ratio``, 0-100) needed to accept an answer
#: that does not occur verbatim in its passage.
MIN_ALIGNMENT_SCORE = 90.0


def locate(answer: str, passage: str) -> tuple[int, str] | None:
    """Where ``answer`` occurs in ``passage``: ``(start, exact passage text)`` or ``None``.

    Tries an exact match, then a case-insensitive one, then fuzzy alignment
    (rapidfuzz ``partial_ratio_alignment`` >= ``MIN_ALIGNMENT_SCORE``) snapped outwards
    to word boundaries. The returned text is always a verbatim slice of ``passage``.
    """
    answer = answer.strip()
    if not answer:
        return None
    i = passage.find(answer)
    if i >= 0:
        return i, answer
    i = passage.casefold().find(answer.casefold())
    if i >= 0 and len(passage.casefold()) == len(passage):
        return i, passage[i : i + len(answer)]
    from rapidfuzz import fuzz  # only free generation needs it

    found = fuzz.partial_ratio_alignment(answer, passage, score_cutoff=MIN_ALIGNMENT_SCORE)
    if found is None:
        return None
    start, end = found.dest_start, found.dest_end
    while start > 0 and passage[start - 1].isalnum():
        start -= 1
    while end < len(passage) and passage[end].isalnum():
        end += 1
    text = passage[start:end].strip(" ,;:")
    if not text:
        return None
    start = passage.index(text, start)
    return start, text
