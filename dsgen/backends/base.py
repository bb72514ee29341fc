"""The backend protocol every model implementation follows."""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Sequence

from dsgen.registry import Registry

backends: Registry[type["Backend"]] = Registry("backend")


@dataclass(frozen=True)
class GenerationParams:
    """Decoding settings; part of every cache key.

    Greedy by default (``temperature == 0``) so builds are reproducible; with
    ``temperature > 0`` sampling is seeded by ``seed``.
    """

    max_new_tokens: int = 64
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int = 0
    stop: tuple[str, ...] = ("\n",)


@dataclass
class GenerationStats:
    """Running totals a backend keeps, so callers can report tokens per second."""

    prompt_tokens: int = 0
    generated_tokens: int = 0
    seconds: float = 0.0  # wall time inside generate()
    calls: int = 0  # generate() calls
    batches: int = 0  # model batches (local) or HTTP requests (server)

    @property
    def tokens_per_second(self) -> float:
        return self.generated_tokens / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class GenerationRequest:
    """One completion-style prompt (few-shot text) and how to decode it."""

    prompt: str
    params: GenerationParams = GenerationParams()


class Backend(abc.ABC):
    """A language model that completes prompts.

    Implementations batch or parallelise internally; ``generate`` returns one
    completion per request, in order, with the prompt removed and the output cut
    at the first stop string.
    """

    #: Names the model in provenance (``generator`` column) and reports.
    model_id: str = "unknown"

    @property
    def cache_id(self) -> str:
        """Identifies the model in model-call cache keys: two models that may answer
        differently must never share one. Defaults to ``model_id``; a backend whose
        ``model_id`` is only a readable name (a local folder's name) adds what tells the
        weights apart."""
        return self.model_id

    @abc.abstractmethod
    def generate(self, requests: Sequence[GenerationRequest]) -> list[str]:
        """Complete every request; same length and order as ``requests``."""

    def close(self) -> None:
        """Release resources (threads, model memory). Safe to call twice."""

    def __enter__(self) -> "Backend":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def cut_at_stop(text: str, stop: Sequence[str]) -> str:
    """Truncate ``text`` at the earliest stop string."""
    cut = len(text)
    for s in stop:
        if s:
            i = text.find(s)
            if i != -1:
                cut = min(cut, i)
    return text[:cut]
