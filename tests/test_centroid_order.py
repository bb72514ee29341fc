"""The centroid summary's sentence order is exactly that of the TF-IDF cosine as first written,
and its picks leave out sentences that point back at one it did not pick or repeat one it did."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsgen.passes.base import PassContext
from dsgen.passes.summary_template import SummaryTemplatePass, centroid_order, opens_with_connective
from dsgen.templates import TemplateStore
from dsgen.support import content_tokens
from dsgen.types import Document


def _centroid_order_as_first_written(texts: list[str]) -> list[int]:
    """Weights, centroid and cosines token by token, as a reader would compute them."""
    bags = [sorted(content_tokens(t)) for t in texts]
    n = len(bags)
    df = Counter(t for bag in bags for t in bag)
    weight = {t: math.log(1 + n / d) for t, d in df.items()}
    centroid: dict[str, float] = {}
    for bag in bags:
        for t in bag:
            centroid[t] = weight[t] + centroid.get(t, 0.0)

    def cosine(bag: list[str]) -> float:
        dot = sum(weight[t] * centroid[t] for t in bag)
        norm = math.sqrt(sum(weight[t] * weight[t] for t in bag)) or 1.0
        return dot / norm

    return sorted(range(n), key=lambda i: (-cosine(bags[i]), i))


#: Few words, so sentences share tokens, repeat and tie; stop words make empty bags.
sentence = st.lists(st.sampled_from(["Tesla", "cars", "sold", "Oslo", "rose", "shares", "the", "it", "of", "2019",
                                     "Musk’s", "prices", "fell", "market"]), max_size=7).map(" ".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(sentence, max_size=25))
def test_centroid_order_matches_the_cosine_as_first_written(texts):
    sentences = [SimpleNamespace(text=t) for t in texts]
    assert centroid_order(sentences) == _centroid_order_as_first_written(texts)


def test_centroid_summaries_skip_sentences_that_point_back_and_lead_summaries_keep_them():
    """A centroid summary joins sentences from anywhere in the article, so "However, ..." would
    answer a sentence it left out; a lead summary's sentences follow one another."""
    body = [
        "The harbour authority opened a new container terminal in Rotterdam in 2019.",
        "However, the container terminal in Rotterdam handled fewer ships than the harbour authority planned in 2019.",
        "Local fishermen said the terminal blocked their usual route to the open sea.",
        "In both cases, the harbour authority said the container terminal would grow in Rotterdam.",
        "A small museum about the history of the harbour opened in the old customs house.",
        "The container terminal in Rotterdam employs about four hundred people from the harbour area.",
    ]
    text = "The new terminal\n" + " ".join(body) + "\n"
    doc = Document("doc-1", "The new terminal", text, "doc-1.md", "0" * 64)
    ctx = PassContext(TemplateStore(Path(__file__).resolve().parents[1] / "templates"), seed=0)
    found = {c.generator: c for c in SummaryTemplatePass().run([doc], ctx)}
    assert set(found) == {"summarization/lead-3", "summarization/centroid-3"}
    centroid = found["summarization/centroid-3"]
    picked = [text[s.start:s.end] for s in centroid.evidence]
    assert len(picked) == 3 and not any(opens_with_connective(s) for s in picked)
    assert body[1] not in centroid.fields["summary"] and body[3] not in centroid.fields["summary"]
    assert centroid.fields["summary"] == " ".join(picked)
    assert found["summarization/lead-3"].fields["summary"] == " ".join(body[:3])  # "However, ..." stays in a lead


def test_connectives_count_only_where_a_sentence_opens_and_as_whole_words():
    assert opens_with_connective("However, sales fell.") and opens_with_connective("In both cases, sales fell.")
    assert opens_with_connective("But sales fell.") and opens_with_connective("As a result, sales fell.")
    assert not opens_with_connective("Sales fell, however.") and not opens_with_connective("Butter prices rose.")
    assert not opens_with_connective("Sonia said so.") and not opens_with_connective("Thusnelda arrived.")


def test_a_centroid_summary_does_not_say_the_same_thing_twice():
    """An article that repeats a sentence with a word changed (a spliced paragraph, a pull
    quote) has two sentences near its centroid: the summary takes one of them."""
    said = "The container terminal in Rotterdam handled more ships than the harbour authority planned in 2019."
    again = said.replace("handled", "served")
    body = [
        "The harbour authority opened a new container terminal in Rotterdam in 2019.",
        said,
        "Local fishermen said the terminal blocked their usual route to the open sea.",
        "A small museum about the history of the harbour opened in the old customs house.",
        again,
        "The container terminal in Rotterdam employs about four hundred people from the harbour area.",
    ]
    text = "The new terminal\n" + " ".join(body) + "\n"
    doc = Document("doc-1", "The new terminal", text, "doc-1.md", "0" * 64)
    ctx = PassContext(TemplateStore(Path(__file__).resolve().parents[1] / "templates"), seed=0)
    analysis = ctx.analysis(doc)
    order = centroid_order(analysis.evidence_sentences)
    assert {analysis.evidence_sentences[i].text for i in order[:2]} == {said, again}  # both near the centroid
    found = {c.generator: c for c in SummaryTemplatePass().run([doc], ctx)}
    summary = found["summarization/centroid-3"].fields["summary"]
    assert (said in summary) != (again in summary), summary
    assert len(found["summarization/centroid-3"].evidence) == 3
