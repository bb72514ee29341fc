"""User-editable templates: sandboxed Jinja2 with ``StrictUndefined``.

Templates cannot reach Python internals or the filesystem (sandbox, no loader
access from inside a template), and a missing variable is an error that names the
template file instead of silently rendering an empty string.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import jinja2
import yaml
from jinja2.sandbox import ImmutableSandboxedEnvironment

from dsgen.errors import TemplateError

#: Templates shipped with dsgen (the repository's ``templates/`` folder).
DEFAULT_TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"


class _NoFileAccess(jinja2.BaseLoader):
    """Refuses ``include``/``import``/``extends``: a template reads no other file."""

    def get_source(self, environment: jinja2.Environment, template: str):
        raise jinja2.TemplateNotFound(template, f"{template!r}: templates cannot include, import or extend files")


def make_environment(filters: dict[str, Callable[..., Any]] | None = None) -> jinja2.Environment:
    """A sandboxed environment: strict undefineds, no file access, no autoescape (plain text)."""
    env = ImmutableSandboxedEnvironment(
        loader=_NoFileAccess(),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(filters or {})
    return env


_MISSING = object()


def _plain_parts(env: jinja2.Environment, source: str) -> tuple[tuple[str, str, tuple], ...] | None:
    """``(text, variable, filters)`` pieces when ``source`` is only text and
    ``{{ name }}`` / ``{{ name | f | g }}`` outputs (filters without arguments, each as
    ``(function, takes the variables)``), else ``None``. Such a template renders by
    joining strings, with the very result Jinja gives (the text comes from Jinja's own
    parse). A filter that takes Jinja's context (``@pass_context``, such as
    ``lower_first``, which reads ``article``) gets the template's variables instead: it
    only looks variables up, with ``.get``, which a dict has too."""
    from jinja2 import nodes

    parts: list[tuple[str, str, tuple]] = []
    for node in env.parse(source).body:
        if not isinstance(node, nodes.Output):
            return None
        for child in node.nodes:
            if isinstance(child, nodes.TemplateData):
                parts.append((child.data, "", ()))
                continue
            filters = []
            while isinstance(child, nodes.Filter):
                func = env.filters.get(child.name)
                passes = getattr(func, "jinja_pass_arg", None)
                if (func is None or child.args or child.kwargs or child.dyn_args or child.dyn_kwargs
                        or passes is not None and passes.name != "context"):
                    return None
                filters.append((func, passes is not None))
                child = child.node
            if not (isinstance(child, nodes.Name) and child.ctx == "load"):
                return None
            parts.append(("", child.name, tuple(reversed(filters))))
    return tuple(parts)


@dataclass(frozen=True)
class Template:
    """A compiled template that remembers where it came from.

    Templates that only substitute variables (most message and question templates)
    render by joining strings, about 20 times faster than a Jinja render; anything
    else, and any non-string or missing value, goes through Jinja.
    """

    name: str
    origin: str
    compiled: jinja2.Template
    plain: tuple[tuple[str, str, tuple], ...] | None = None
    # ``plain`` split for rendering: its text with a hole at each variable, and the
    # holes as ``(position, variable, filters)``.
    _pieces: tuple[str, ...] = field(init=False, repr=False, compare=False, default=())
    _holes: tuple[tuple[int, str, tuple], ...] = field(init=False, repr=False, compare=False, default=())

    def __post_init__(self) -> None:
        if self.plain is not None:
            object.__setattr__(self, "_pieces", tuple(text for text, _, _ in self.plain))
            object.__setattr__(self, "_holes", tuple((i, name, filters) for i, (_, name, filters)
                                                     in enumerate(self.plain) if name))

    def render(self, **variables: Any) -> str:
        return self.render_with(variables)

    def render_with(self, variables: dict[str, Any]) -> str:
        """:meth:`render` with the variables in a dict (one copy fewer per call)."""
        if self.plain is None:
            return self._render(variables)
        out = list(self._pieces)
        for i, name, filters in self._holes:
            value = variables.get(name, _MISSING)
            try:
                for f, takes_variables in filters:
                    if type(value) is not str:
                        break
                    value = f(variables, value) if takes_variables else f(value)
            except Exception:  # noqa: BLE001 - Jinja renders again and names the template
                return self._render(variables)
            if type(value) is not str:
                return self._render(variables)  # Jinja's conversion, or its error
            out[i] = value
        return "".join(out)

    def _render(self, variables: dict[str, Any]) -> str:
        try:
            return self.compiled.render(**variables)
        except jinja2.UndefinedError as exc:
            raise TemplateError(f"template {self.origin}: {exc.message}") from None
        except jinja2.exceptions.SecurityError as exc:
            raise TemplateError(f"template {self.origin}: unsafe operation refused ({exc})") from None
        except jinja2.TemplateError as exc:
            raise TemplateError(f"template {self.origin}: {exc}") from None
        except Exception as exc:  # noqa: BLE001 - template code is user code: 1/0, range(10**9), ...
            raise TemplateError(f"template {self.origin}: {type(exc).__name__}: {exc}") from None


class TemplateStore:
    """Loads templates and YAML rule files from a templates folder."""

    def __init__(self, root: str | Path = DEFAULT_TEMPLATES_DIR, filters: dict[str, Callable] | None = None) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise TemplateError(f"templates folder not found: {self.root}")
        if filters is None:
            from dsgen.morph import FILTERS as filters
        self.env = make_environment(filters)

    def path(self, relative: str) -> Path:
        p = (self.root / relative).resolve()
        if not p.is_relative_to(self.root.resolve()):
            raise TemplateError(f"template path escapes the templates folder: {relative}")
        return p

    def compile(self, source: str, origin: str, name: str | None = None) -> Template:
        return compile_template(self.env, source, origin, name)

    def load(self, relative: str) -> Template:
        """Compile ``templates/<relative>`` (a ``.jinja2`` file)."""
        p = self.path(relative)
        try:
            source = p.read_text(encoding="utf-8")
        except OSError as exc:
            raise TemplateError(f"cannot read template {p}: {exc.strerror or exc}") from None
        except UnicodeDecodeError as exc:
            raise TemplateError(_not_utf8(p, exc)) from None
        return self.compile(source, str(p), name=relative)

    def yaml(self, relative: str) -> Any:
        p = self.path(relative)
        try:
            return yaml.safe_load(p.read_text(encoding="utf-8"))
        except OSError as exc:
            raise TemplateError(f"cannot read {p}: {exc.strerror or exc}") from None
        except UnicodeDecodeError as exc:
            raise TemplateError(_not_utf8(p, exc)) from None
        except yaml.YAMLError as exc:
            raise TemplateError(f"{p}: invalid YAML ({str(exc).splitlines()[0]})") from None

    def glob(self, pattern: str) -> list[str]:
        return sorted(p.relative_to(self.root).as_posix() for p in self.root.glob(pattern) if p.is_file())


def compile_template(env: jinja2.Environment, source: Any, origin: str, name: str | None = None) -> Template:
    """``source`` compiled in ``env``; ``origin`` names it in errors.

    Raises:
        TemplateError: ``source`` is not text, or not a valid template.
    """
    if not isinstance(source, str):  # e.g. ``question: 7`` in a YAML rule file
        raise TemplateError(f"template {origin}: must be text, got {source!r}")
    try:
        return Template(name or origin, origin, env.from_string(source), _plain_parts(env, source))
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"template {origin}, line {exc.lineno}: {exc.message}") from None


def _not_utf8(path: Path, exc: UnicodeDecodeError) -> str:
    return f"{path}: not UTF-8 text (byte {exc.start}); save template files as UTF-8"


def resolve_templates_dir(given: str | Path | None) -> Path:
    """``given``, else ``./templates`` when present, else the templates shipped with dsgen."""
    if given is not None:
        return Path(given)
    local = Path("templates")
    if (local / "qa").is_dir() and (local / "messages").is_dir():
        return local
    return DEFAULT_TEMPLATES_DIR
