"""A scripted backend for tests: queued replies or a responder function."""

from __future__ import annotations

from collections import deque
from typing import Callable, Iterable, Sequence

from dsgen.backends.base import Backend, GenerationRequest, backends, cut_at_stop
from dsgen.errors import BackendError


@backends.register("fake")
class FakeBackend(Backend):
    """Answers from a queue of replies (or a ``responder``) and records every prompt.

    Replies go through the same stop-string cut as real backends, so a test can
    queue raw model-like text. ``calls`` lists every prompt received, ``batches``
    the size of each ``generate`` call (useful to check chunking and caching).

    Args:
        replies: Completions handed out in order, one per request.
        responder: ``responder(prompt) -> str``; used when the queue is empty.
        model_id: Provenance string for the rows this backend produces.
    """

    def __init__(
        self,
        replies: Iterable[str] = (),
        responder: Callable[[str], str] | None = None,
        model_id: str = "fake",
    ) -> None:
        self._replies = deque(replies)
        self._responder = responder
        self.model_id = model_id
        self.calls: list[str] = []
        self.requests: list[GenerationRequest] = []
        self.batches: list[int] = []

    def queue(self, *replies: str) -> None:
        """Add replies to the end of the queue."""
        self._replies.extend(replies)

    def generate(self, requests: Sequence[GenerationRequest]) -> list[str]:
        self.batches.append(len(requests))
        out = []
        for request in requests:
            self.calls.append(request.prompt)
            self.requests.append(request)
            out.append(cut_at_stop(self._next_reply(request.prompt), request.params.stop))
        return out

    def _next_reply(self, prompt: str) -> str:
        if self._replies:
            return self._replies.popleft()
        if self._responder is not None:
            return self._responder(prompt)
        raise BackendError(
            f"FakeBackend ran out of queued replies after {len(self.calls) - 1} "
            "prompt(s); queue more replies or pass a responder"
        )
