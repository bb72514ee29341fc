"""The centroid summary's sentence order is exactly that of the TF-IDF cosine as first written."""

from __future__ import annotations

import math
from collections import Counter
from types import SimpleNamespace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsgen.passes.summary_template import centroid_order
from dsgen.support import content_tokens


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
