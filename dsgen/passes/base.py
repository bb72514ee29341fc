"""The pass protocol: documents in, candidate examples out."""

from __future__ import annotations

import abc
import hashlib
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from dsgen.analysis import DocAnalysis
from dsgen.boilerplate import BoilerplateRules
from dsgen.entities import Lexicon
from dsgen.passes.options import PASS_OPTIONS
from dsgen.registry import Registry
from dsgen.templates import TemplateStore
from dsgen.types import Candidate, Document

if TYPE_CHECKING:
    from dsgen.backends import Backend

passes: Registry[type["Pass"]] = Registry("pass")


@dataclass
class PassContext:
    """What a pass may use: templates, word lists, a seeded RNG, maybe a model.

    ``neighbours`` are other documents of the same build (for claims the article
    does not support); passes must not assume it holds the whole corpus.
    """

    templates: TemplateStore
    seed: int = 0
    backend: "Backend | None" = None
    neighbours: Sequence[Document] = ()
    options: dict = field(default_factory=dict)
    _analyses: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.rules = BoilerplateRules.load(self.templates.path("boilerplate.yaml"))
        self.lexicon = Lexicon.load(self.templates.path("lexicon.yaml"))

    def analysis(self, doc: Document) -> DocAnalysis:
        found = self._analyses.get(doc.doc_id)
        if found is None:
            if len(self._analyses) > 256:  # bounded: builds stream documents
                self._analyses.clear()
            found = self._analyses[doc.doc_id] = DocAnalysis(doc, self.rules, self.lexicon)
        return found

    def option(self, name: str) -> Any:
        """The pass option ``name``: its ``[build.options]`` value (checked when the config
        was loaded), else the default declared in ``dsgen/passes/options.py``."""
        return self.options.get(name, PASS_OPTIONS[name].default)

    def rng(self, *parts: str) -> random.Random:
        """A RNG seeded by the build seed and ``parts`` (e.g. pass name, doc id)."""
        digest = hashlib.sha256("\x1f".join([str(self.seed), *parts]).encode()).digest()
        return random.Random(int.from_bytes(digest[:8], "big"))


class Pass(abc.ABC):
    """Turns documents into candidates for one config.

    Subclasses set ``name``, ``config`` and ``method`` and implement ``run``.
    Model passes get the whole batch of documents so they can batch prompts.
    """

    name: str
    config: str
    method: str  # "template" or "model"
    needs_backend: bool = False

    def generator(self, ctx: PassContext, template_name: str) -> str:
        """Provenance string: the template name, or the model id for model passes."""
        if self.method == "model" and ctx.backend is not None:
            return ctx.backend.model_id
        return template_name

    @abc.abstractmethod
    def run(self, docs: Sequence[Document], ctx: PassContext) -> Iterable[Candidate]:
        """Yield candidates for ``docs`` (validation happens later)."""
