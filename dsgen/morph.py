"""Small English morphology for question templates (verb base forms, casing)."""

from __future__ import annotations

from functools import lru_cache

_LOWERABLE = {"They", "It", "He", "She", "We", "The", "A", "An", "This", "That", "These", "Those", "Its", "Their", "His", "Her", "Our", "Some", "Many", "Most", "Several", "Each", "Every", "Such", "Regulatory", "Leadership", "Investors", "Analysts", "Experts"}


@lru_cache(maxsize=4096)
def base_verb(word: str) -> str:
    """``pledged`` -> ``pledge``, ``led`` -> ``lead`` (lemminflect's lemma)."""
    from lemminflect import getLemma

    lemmas = getLemma(word.lower(), upos="VERB")
    return lemmas[0] if lemmas else word


def lower_first(phrase: str) -> str:
    """Lower-case a leading determiner-like word, keeping names capitalized."""
    head, sep, tail = phrase.partition(" ")
    if head in _LOWERABLE:
        return head.lower() + sep + tail
    return phrase


FILTERS = {"base_verb": base_verb, "lower_first": lower_first}
