"""Build configuration: defaults, an optional TOML file, then CLI overrides."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from dsgen.errors import ConfigError
from dsgen.passes import MODEL_PASSES, TEMPLATE_PASSES

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
    num_proc: int = 1  # worker processes (local engine) or Ray workers for the templated passes
    engine: str = "local"  # "local" (this machine) or "ray" (a Ray cluster, see docs/scale.md)
    batch_size: int = 8
    concurrency: int = 4
    temperature: float = 0.0
    model_items_per_doc: int = 4
    chunk_size: int = 64
    license: str = "other"
    language: str = "en"
    pretty_name: str = "dsgen synthetic QA, summarization and fact-check dataset"
    options: dict[str, Any] = field(default_factory=dict)

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
        if self.num_proc < 1 or self.batch_size < 1 or self.concurrency < 1 or self.chunk_size < 1:
            raise ConfigError("--num-proc, --batch-size, --concurrency and chunk_size must be >= 1")
        if self.model_items_per_doc < 1:
            raise ConfigError(f"--items-per-doc must be >= 1, got {self.model_items_per_doc}")
        if not self.temperature >= 0:  # NaN fails too
            raise ConfigError(f"--temperature must be >= 0 (0 = greedy), got {self.temperature}")
        if self.backend == "openai" and not self.model:
            raise ConfigError("--backend openai needs --model (the model name the server serves)")
        self.selected_passes()
        return self


def load_config(path: str | Path | None, **overrides: Any) -> BuildConfig:
    """Defaults < TOML file (``[build]`` table or top level) < non-None overrides."""
    values: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot read config {path}: {exc.strerror or exc}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: invalid TOML ({exc})") from None
        values = data.get("build", data)
    values.update({k: v for k, v in overrides.items() if v is not None})
    known = {f.name for f in fields(BuildConfig)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"unknown config keys: {', '.join(unknown)}")
    for key in ("seeds_dir", "out_dir", "templates_dir", "cache_dir"):
        if values.get(key) is not None:
            values[key] = Path(values[key])
    if isinstance(values.get("passes"), str):
        values["passes"] = tuple(p.strip() for p in values["passes"].split(",") if p.strip())
    elif values.get("passes") is not None:
        values["passes"] = tuple(values["passes"])
    try:
        return replace(BuildConfig(), **values).check()
    except TypeError as exc:
        raise ConfigError(f"bad config value: {exc}") from None
