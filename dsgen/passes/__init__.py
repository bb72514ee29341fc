"""Passes: one per file, registered by name in ``passes``."""

import importlib

from dsgen.passes.base import Pass, PassContext, passes

TEMPLATE_PASSES = ("qa_template", "summarization_template", "fact_check_template")
MODEL_PASSES = ("qa_model", "summarization_model", "fact_check_model")

_MODULES = {
    "qa_template": "dsgen.passes.qa_template",
    "summarization_template": "dsgen.passes.summary_template",
    "fact_check_template": "dsgen.passes.factcheck_template",
    "qa_model": "dsgen.passes.qa_model",
    "summarization_model": "dsgen.passes.summary_model",
    "fact_check_model": "dsgen.passes.factcheck_model",
}


def get_pass(name: str) -> Pass:
    """An instance of the pass registered as ``name`` (imported on first use).

    Passes register themselves when their module is imported; for a name that is
    not a built-in one every module is imported first, so the error lists every
    known pass and suggests the closest.
    """
    if name not in passes:
        for module in [_MODULES[name]] if name in _MODULES else _MODULES.values():
            importlib.import_module(module)
    return passes.get(name)()


__all__ = ["Pass", "PassContext", "passes", "get_pass", "TEMPLATE_PASSES", "MODEL_PASSES"]
