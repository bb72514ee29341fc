"""Candidates -> published rows: stable ids, provenance and chat ``messages``."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from dsgen.errors import TemplateError
from dsgen.templates import TemplateStore
from dsgen.types import Candidate, Document


def stable_id(*parts: Any) -> str:
    """A content hash: identical inputs give identical ids across rebuilds."""
    blob = json.dumps(parts, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


class MessageRenderer:
    """Renders ``templates/messages/<config>.yaml`` into a user/assistant chat."""

    def __init__(self, store: TemplateStore) -> None:
        self._templates = {}
        for config in ("qa", "summarization", "fact_check", "documents"):
            rel = f"messages/{config}.yaml"
            data = store.yaml(rel)
            if not isinstance(data, dict) or not {"user", "assistant"} <= set(data):
                raise TemplateError(f"{store.path(rel)}: needs 'user' and 'assistant' templates")
            origin = str(store.path(rel))
            self._templates[config] = {
                role: store.compile(str(data[role]), f"{origin} ({role})")
                for role in ("system", "user", "assistant") if role in data
            }

    def render(self, config: str, **variables: Any) -> list[dict[str, str]]:
        return [
            {"role": role, "content": template.render(**variables)}
            for role, template in self._templates[config].items()
        ]


def candidate_row(c: Candidate, doc: Document, renderer: MessageRenderer) -> dict[str, Any]:
    """The published row for a candidate (columns of its config, SPEC order)."""
    f = c.fields
    base = {"id": "", "doc_id": c.doc_id}
    evidence = [s.as_dict() for s in c.evidence]
    if c.config == "qa":
        answer = f["answers"]["text"][0]
        body = {
            "context": f["context"], "context_start": f["context_start"], "question": f["question"],
            "answers": {"text": list(f["answers"]["text"]), "answer_start": list(f["answers"]["answer_start"])},
            "evidence": evidence,
        }
        key = [f["question"], f["answers"]["text"], f["context_start"] + f["answers"]["answer_start"][0]]
        messages = renderer.render("qa", context=f["context"], question=f["question"], answer=answer, title=doc.title)
    elif c.config == "summarization":
        body = {"document": doc.text, "summary": f["summary"], "evidence": evidence}
        key = [f["summary"]]
        messages = renderer.render("summarization", document=doc.text, summary=f["summary"], title=doc.title)
    elif c.config == "fact_check":
        body = {
            "claim": f["claim"], "label": f["label"], "context": f["context"], "context_start": f["context_start"],
            "evidence": evidence, "change": dict(f["change"]),
        }
        key = [f["claim"], f["label"], evidence]
        messages = renderer.render("fact_check", claim=f["claim"], context=f["context"], label=f["label"])
    else:
        raise ValueError(f"unknown config {c.config!r}")
    row = {**base, **body, "pass": c.pass_name, "method": c.method, "generator": c.generator, "messages": messages}
    row["id"] = stable_id(c.config, c.doc_id, c.pass_name, key)
    return row


def document_row(doc: Document, renderer: MessageRenderer) -> dict[str, Any]:
    return {
        "id": stable_id("documents", doc.doc_id),
        "doc_id": doc.doc_id,
        "title": doc.title,
        "text": doc.text,
        "source": doc.source,
        "sha256": doc.sha256,
        "pass": "documents",
        "method": "template",
        "generator": "corpus",
        "messages": renderer.render("documents", title=doc.title, text=doc.text),
    }
