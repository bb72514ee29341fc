"""Model backends: one protocol (``Backend``), one file per implementation."""

from dsgen.backends.base import Backend, GenerationParams, GenerationRequest, backends

__all__ = ["Backend", "GenerationParams", "GenerationRequest", "backends", "load_backend"]


def load_backend(name: str, **options):
    """Create the backend registered as ``name`` (imports it lazily)."""
    import importlib

    module = {
        "transformers": "dsgen.backends.transformers_backend",
        "openai": "dsgen.backends.openai_backend",
        "fake": "dsgen.backends.fake",
    }.get(name)
    if module:
        importlib.import_module(module)
    return backends.get(name)(**options)
