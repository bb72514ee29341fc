"""Build configuration: defaults, an optional TOML file, then CLI overrides."""

from __future__ import annotations

import difflib
import os
import tomllib
import types
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Union, get_args, get_origin, get_type_hints

from dsgen.errors import ConfigError
from dsgen.passes import MODEL_PASSES, TEMPLATE_PASSES
from dsgen.passes.options import PASS_OPTIONS, PassOption

BACKENDS = ("transformers", "openai", "fake", "none")
ENGINES = ("local", "ray")


@dataclass(frozen=True)
class BuildConfig:
    """Everything a build depends on. Same config + same inputs = same output."""

    seeds_dir: Path = Path("seeds")
    out_dir: Path = Path("out")
    passes: tuple[str, ...] | None = None  # None: every pass the backend allows
    backend: str = "transformers"
    model: str | None = None  # local HF folder or server model name; None = embedded
    base_url: str | None = None
    seed: int = 0
    test_size: float = 0.2
    templates_dir: Path | None = None  # None: ./templates, else the packaged ones
    cache_dir: Path | None = None  # model-call cache; None = ~/.cache/dsgen
    use_cache: bool = True
    strict: bool = False
    encoding: str | None = None  # of input files that are not UTF-8; None = detect it per file
    num_proc: int = 1  # worker processes (local engine) or Ray workers for the templated passes
    engine: str = "local"  # "local" (this machine) or "ray" (a Ray cluster, see docs/scale.md)
    batch_size: int = 8
    concurrency: int = 4
    temperature: float = 0.0
    model_items_per_doc: int = 4
    chunk_size: int = 64
    #: Characters of article text per chunk, at most (a longer article makes a chunk alone):
    #: a worker holds a chunk's rows until it is done with it.
    chunk_chars: int = 4_000_000
    license: str = "other"
    language: str = "en"
    pretty_name: str = "dsgen synthetic QA, summarization and fact-check dataset"
    options: dict[str, Any] = field(default_factory=dict)  # [build.options]: see dsgen/passes/options.py

    def selected_passes(self) -> tuple[str, ...]:
        if self.passes is not None:
            if not self.passes:
                raise ConfigError("--passes names no pass (leave it out to run them all)")
            twice = next((p for i, p in enumerate(self.passes) if p in self.passes[:i]), None)
            if twice is not None:
                raise ConfigError(f"--passes names {twice} twice")
            if self.backend == "none":
                model = [p for p in self.passes if p in MODEL_PASSES]
                if model:
                    raise ConfigError(f"--backend none cannot run model passes: {', '.join(model)}")
            return self.passes
        return TEMPLATE_PASSES if self.backend == "none" else TEMPLATE_PASSES + MODEL_PASSES

    def check(self) -> "BuildConfig":
        if self.backend not in BACKENDS:
            raise ConfigError(f"unknown backend {self.backend!r} (choose from {', '.join(BACKENDS)})")
        if not 0.0 < self.test_size < 1.0:
            raise ConfigError(f"--test-size must be between 0 and 1 (exclusive), got {self.test_size}")
        if self.engine not in ENGINES:
            raise ConfigError(f"unknown engine {self.engine!r} (choose from {', '.join(ENGINES)})")
        if self.num_proc < 1 or self.batch_size < 1 or self.concurrency < 1 or self.chunk_size < 1 or self.chunk_chars < 1:
            raise ConfigError("--num-proc, --batch-size, --concurrency, chunk_size and chunk_chars must be >= 1")
        if self.model_items_per_doc < 1:
            raise ConfigError(f"--items-per-doc must be >= 1, got {self.model_items_per_doc}")
        if not 0 <= self.temperature < float("inf"):  # NaN fails too
            raise ConfigError(f"--temperature must be a number >= 0 (0 = greedy), got {self.temperature}")
        if self.encoding is not None:
            try:
                b"\0\0\0\0".decode(self.encoding)  # LookupError too for codecs that are not text (base64)
            except LookupError:
                raise ConfigError(f"unknown encoding {self.encoding!r} (e.g. cp1250, iso-8859-2, cp1254, gbk)") from None
            except UnicodeError:
                pass  # a text encoding: these bytes just are not valid in it
        if self.backend == "openai" and not self.model:
            raise ConfigError("--backend openai needs --model (the model name the server serves)")
        _check_pass_options(self.options)
        self.selected_passes()
        return self


def load_config(path: str | Path | None, **overrides: Any) -> BuildConfig:
    """Defaults < TOML file (``[build]`` table or top level) < non-None overrides."""
    values: dict[str, Any] = {}
    if path is not None:
        values = _read_toml(Path(path))
    values.update({k: v for k, v in overrides.items() if v is not None})
    known = {f.name for f in fields(BuildConfig)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"unknown config keys: {', '.join(unknown)}")
    for key, value in values.items():
        _check_type(key, value)
    for key in ("seeds_dir", "out_dir", "templates_dir", "cache_dir"):
        if values.get(key) is not None:
            values[key] = Path(values[key])
    if isinstance(values.get("passes"), str):
        values["passes"] = tuple(p.strip() for p in values["passes"].split(",") if p.strip())
    elif values.get("passes") is not None:
        values["passes"] = tuple(values["passes"])
    return replace(BuildConfig(), **values).check()


def _read_toml(path: Path) -> dict[str, Any]:
    """The build table of a TOML file: its ``[build]`` table, else its top level."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}), TOML files must be UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML ({exc})") from None
    if "build" not in data:
        return data
    values, outside = data["build"], sorted(set(data) - {"build"})
    if not isinstance(values, dict):
        raise ConfigError(f"config key 'build' must be a table ([build]), got {_show(values)}")
    if outside:  # they would be ignored: the [build] table is the whole configuration
        raise ConfigError(f"{path}: keys outside the [build] table: {', '.join(outside)} (move them into [build])")
    return values


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _is_path(v: Any) -> bool:
    return isinstance(v, (str, os.PathLike))


def _is_names(v: Any) -> bool:
    return isinstance(v, str) or (isinstance(v, (list, tuple)) and all(isinstance(x, str) for x in v))


#: Field type (``None`` stripped) -> what a value must be, and how to say it.
_TYPE_CHECKS: dict[Any, tuple[Any, str]] = {
    int: (_is_int, "an integer"),
    float: (_is_number, "a number"),
    bool: (lambda v: isinstance(v, bool), "true or false"),
    str: (lambda v: isinstance(v, str), "a string"),
    Path: (_is_path, "a path (a string)"),
    tuple[str, ...]: (_is_names, "a pass name or a list of pass names"),
    dict[str, Any]: (lambda v: isinstance(v, dict), "a table"),
}


def _field_checks() -> dict[str, tuple[Any, str]]:
    """``BuildConfig`` field name -> (check, description), from the field annotations."""
    checks = {}
    for name, hint in get_type_hints(BuildConfig).items():
        if get_origin(hint) in (Union, types.UnionType):
            hint = next(a for a in get_args(hint) if a is not type(None))
        checks[name] = _TYPE_CHECKS[hint]  # KeyError: a new field type needs an entry above
    return checks


_FIELD_CHECKS = _field_checks()


def _check_type(key: str, value: Any) -> None:
    """Raise ``ConfigError`` naming ``key`` when ``value`` is not of its field's type.

    TOML has its own types, so ``"false"``, ``1.5`` or ``true`` where an integer is
    expected are mistakes to report, never values to coerce.
    """
    check, expected = _FIELD_CHECKS[key]
    if not check(value):
        raise ConfigError(f"config key {key!r} must be {expected}, got {_show(value)}")


def _check_pass_options(options: dict[str, Any]) -> None:
    """Raise ``ConfigError`` for a ``[build.options]`` key that no pass reads, or a value
    of the wrong type or out of range (declared in ``dsgen/passes/options.py``).

    A misspelt option would otherwise be ignored, and a wrong value would fail deep in a
    pass or quietly change what it does.
    """
    for key, value in options.items():
        option = PASS_OPTIONS.get(key)
        if option is None:
            if key in _FIELD_CHECKS:
                raise ConfigError(f"{key!r} is a [build] key, not a pass option: move it out of [build.options]")
            close = difflib.get_close_matches(str(key), PASS_OPTIONS, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"unknown pass option {key!r} in [build.options]{hint} "
                              f"(known: {', '.join(sorted(PASS_OPTIONS))})")
        if not option.accepts(value):
            raise ConfigError(f"pass option {key!r} ([build.options]) must be {option.expected}, got {_show(value)}")
        if option.keys:
            _check_table_keys(f"build.options.{key}", value, option.keys)


def _check_table_keys(table: str, values: dict[str, Any], keys: tuple[PassOption, ...]) -> None:
    """Raise ``ConfigError`` for a key of the option table ``[table]`` that it does not
    declare, or a value of the wrong type (a traceback where the table is used, before)."""
    known = {option.name: option for option in keys}
    for key, value in values.items():
        option = known.get(key)
        if option is None:
            close = difflib.get_close_matches(str(key), known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"unknown key {key!r} in [{table}]{hint} (known: {', '.join(sorted(known))})")
        if not option.accepts(value):
            raise ConfigError(f"key {key!r} in [{table}] must be {option.expected}, got {_show(value)}")


def _show(value: Any) -> str:
    """``value`` as the user wrote it in TOML, shortened."""
    text = str(value).lower() if isinstance(value, bool) else repr(value)  # repr(1e400) is 'inf', as in TOML
    return text if len(text) <= 60 else text[:57] + "..."
