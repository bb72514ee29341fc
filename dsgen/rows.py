"""Candidates -> published rows: stable ids, provenance and chat ``messages``."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from dsgen.errors import TemplateError
from dsgen.templates import TemplateStore
from dsgen.types import Candidate, Document


#: ``json.dumps(..., sort_keys=True, ensure_ascii=False, separators=(",", ":"))``, built once
#: (``dumps`` with any argument builds a new encoder per call).
_ID_JSON = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode


def stable_id(*parts: Any) -> str:
    """A content hash: identical inputs give identical ids across rebuilds."""
    return hashlib.sha256(_ID_JSON(parts).encode("utf-8")).hexdigest()[:16]


#: Configs with a message template (``templates/messages/<config>.yaml``), and its roles in
#: the order they are rendered.
MESSAGE_CONFIGS = ("qa", "summarization", "fact_check", "documents")
ROLES = ("system", "user", "assistant")


class MessageRenderer:
    """Renders ``templates/messages/<config>.yaml`` into a user/assistant chat.

    ``sources`` holds each config's template text per role: the build records it in
    ``build-report.json``, where ``dsgen validate`` rebuilds the renderer from it
    (:meth:`from_sources`) to check every row's ``messages``.
    """

    def __init__(self, store: TemplateStore) -> None:
        self.sources: dict[str, dict[str, str]] = {}
        self._templates = {}
        for config in MESSAGE_CONFIGS:
            rel = f"messages/{config}.yaml"
            data = store.yaml(rel)
            if not isinstance(data, dict) or not {"user", "assistant"} <= set(data):
                raise TemplateError(f"{store.path(rel)}: needs 'user' and 'assistant' templates")
            origin = str(store.path(rel))
            self._templates[config] = {
                role: store.compile(data[role], f"{origin} ({role})")  # text only: ``user: 7`` is a mistake
                for role in ROLES if role in data
            }
            self.sources[config] = {role: data[role] for role in self._templates[config]}

    @classmethod
    def from_sources(cls, sources: Any, origin: str) -> "MessageRenderer":
        """The renderer a build used, from its recorded :attr:`sources`; ``origin`` names
        where they come from in errors.

        Raises:
            TemplateError: ``sources`` is not one text per role of every config, or a
                template does not compile.
        """
        from dsgen.morph import FILTERS
        from dsgen.templates import compile_template, make_environment

        if not isinstance(sources, dict) or set(sources) != set(MESSAGE_CONFIGS):
            raise TemplateError(f"{origin}: not the message templates of {', '.join(MESSAGE_CONFIGS)}")
        renderer = cls.__new__(cls)  # no templates folder to read
        renderer.sources, renderer._templates = {}, {}
        env = make_environment(FILTERS)  # what a TemplateStore uses
        for config in MESSAGE_CONFIGS:
            roles = sources[config]
            if not isinstance(roles, dict) or not {"user", "assistant"} <= set(roles) or not set(roles) <= set(ROLES):
                raise TemplateError(f"{origin}: {config} needs 'user' and 'assistant' templates (and maybe 'system')")
            # JSON sorted the roles: render them in chat order again.
            renderer.sources[config] = {role: roles[role] for role in ROLES if role in roles}
            renderer._templates[config] = {role: compile_template(env, source, f"{origin} ({config} {role})")
                                           for role, source in renderer.sources[config].items()}
        return renderer

    def render(self, config: str, **variables: Any) -> list[dict[str, str]]:
        return self.render_with(config, variables)

    def render_with(self, config: str, variables: dict[str, Any]) -> list[dict[str, str]]:
        """:meth:`render` with the variables in a dict (no copy per template)."""
        return [
            {"role": role, "content": template.render_with(variables)}
            for role, template in self._templates[config].items()
        ]


def candidate_row(c: Candidate, doc: Document, renderer: MessageRenderer) -> dict[str, Any]:
    """The published row for a candidate (columns of its config, SPEC order)."""
    f = c.fields
    base = {"id": "", "doc_id": c.doc_id}
    evidence = [s.as_dict() for s in c.evidence]
    if c.config == "qa":
        body = {
            "context": f["context"], "context_start": f["context_start"], "question": f["question"],
            "answers": {"text": list(f["answers"]["text"]), "answer_start": list(f["answers"]["answer_start"])},
            "evidence": evidence,
        }
        key = [f["question"], f["answers"]["text"], f["context_start"] + f["answers"]["answer_start"][0]]
    elif c.config == "summarization":
        body = {"document": doc.text, "summary": f["summary"], "evidence": evidence}
        key = [f["summary"]]
    elif c.config == "fact_check":
        body = {
            "claim": f["claim"], "label": f["label"], "context": f["context"], "context_start": f["context_start"],
            "evidence": evidence, "change": dict(f["change"]),
        }
        key = [f["claim"], f["label"], evidence]
    else:
        raise ValueError(f"unknown config {c.config!r}")
    row = {**base, **body, "pass": c.pass_name, "method": c.method, "generator": c.generator}
    row["messages"] = render_messages(renderer, c.config, row, doc.title)
    row["id"] = stable_id(c.config, c.doc_id, c.pass_name, key)
    return row


def render_messages(renderer: MessageRenderer, config: str, row: dict[str, Any], title: str) -> list[dict[str, str]]:
    """The ``messages`` column of ``row`` (of ``config``, from an article titled ``title``)."""
    if config == "qa":
        variables = {"context": row["context"], "question": row["question"], "answer": row["answers"]["text"][0],
                     "title": title}
    elif config == "summarization":
        variables = {"document": row["document"], "summary": row["summary"], "title": title}
    elif config == "fact_check":
        variables = {"claim": row["claim"], "context": row["context"], "label": row["label"]}
    elif config == "documents":
        variables = {"title": row["title"], "text": row["text"]}
    else:
        raise ValueError(f"unknown config {config!r}")
    return renderer.render_with(config, variables)


def document_row(doc: Document, renderer: MessageRenderer) -> dict[str, Any]:
    row = {
        "id": stable_id("documents", doc.doc_id),
        "doc_id": doc.doc_id,
        "title": doc.title,
        "text": doc.text,
        "source": doc.source,
        "sha256": doc.sha256,
        "pass": "documents",
        "method": "template",
        "generator": "corpus",
    }
    row["messages"] = render_messages(renderer, "documents", row, doc.title)
    return row
