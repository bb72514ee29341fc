"""Reading a build's dataset card back the way ``load_dataset`` does, for ``dsgen validate``:
does its front matter parse, and do its ``configs`` name exactly the parquet files with rows?"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from dsgen.errors import DsgenError
from dsgen.features import CONFIG_NAMES, SPLITS
from dsgen.parquet_writer import shard_name

if TYPE_CHECKING:
    from dsgen.validate import Problem

CARD = "dataset/README.md"


def card_problems(dataset_dir: Path, shard_rows: dict[tuple[str, str], int]) -> list[tuple[str, "Problem"]]:
    """``(config, Problem)`` for each way the card would keep ``load_dataset(dataset_dir, config)``
    from loading exactly the build's rows: front matter that does not parse (``card_invalid``),
    or ``configs`` that do not name each config/split file with rows, and only those
    (``card_configs_mismatch``; :func:`dsgen.card.card_data` leaves out splits without rows, since
    ``datasets`` cannot load an empty split). ``shard_rows`` counts the rows of the shards
    that could be read; the others are reported already and not judged here."""
    from dsgen.validate import Problem

    try:
        configs = read_card_configs(dataset_dir / "README.md")
    except DsgenError as exc:
        return [("card", Problem("card_invalid", f"{CARD}: {exc}"))]
    problems = []

    def mismatch(config: str, detail: str) -> None:
        problems.append((config, Problem("card_configs_mismatch", f"{CARD}: {detail}")))

    for name, splits in configs.items():
        if name not in CONFIG_NAMES:
            mismatch(name, f"config {name!r} is not one this build writes ({', '.join(CONFIG_NAMES)})")
            continue
        for split, patterns in splits.items():
            want = f"{name}/{shard_name(split)}"
            if split not in SPLITS:
                mismatch(name, f"{name} has a split {split!r}; this build writes {' and '.join(SPLITS)}")
            elif (name, split) not in shard_rows:
                continue
            elif (files := _matching_files(dataset_dir, patterns)) != [want]:
                mismatch(name, f"{name} {split} is {', '.join(map(str, patterns))}, which "
                               f"{'matches no file' if not files else 'is ' + ', '.join(files)}, not {want}")
            elif shard_rows[(name, split)] == 0:
                mismatch(name, f"{name} {split} is {want}, which has no rows (load_dataset cannot load it)")
    for (name, split), n in shard_rows.items():
        if n and split not in configs.get(name, {}):
            mismatch(name, f"{name} {split} ({name}/{shard_name(split)}, {n} rows) is not listed in configs")
    return problems


def read_card_configs(readme: Path) -> dict[str, dict[str, list]]:
    """The card's ``configs``, as ``load_dataset`` reads them: ``{config: {split: [path patterns]}}``.

    Raises:
        DsgenError: one line saying why ``load_dataset`` could not read them.
    """
    import yaml
    from datasets.data_files import sanitize_patterns
    from datasets.utils.metadata import MetadataConfigs
    from huggingface_hub import DatasetCard
    from huggingface_hub.repocard import REGEX_YAML_BLOCK

    try:
        text = readme.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DsgenError("missing: load_dataset would not find the configs") from None
    except OSError as exc:
        raise DsgenError(f"cannot read it ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise DsgenError(f"not UTF-8 text (byte {exc.start})") from None
    match = REGEX_YAML_BLOCK.search(text)
    if not match:
        raise DsgenError("no YAML front matter (a block between '---' lines at the top)")
    try:
        data = DatasetCard(text).data  # the parse load_dataset does
    except yaml.YAMLError as exc:
        raise DsgenError(f"invalid YAML front matter{_yaml_position(exc, match)}: {_yaml_message(exc)}") from None
    except Exception as exc:  # noqa: BLE001 - the card is input: say what is wrong, do not crash
        raise DsgenError(f"front matter is not a mapping of names ({_first_line(exc)})") from None
    try:
        configs = MetadataConfigs.from_dataset_card_data(data)
        return {str(name): sanitize_patterns(params["data_files"]) if params.get("data_files") is not None else {}
                for name, params in configs.items()}
    except Exception as exc:  # noqa: BLE001 - as above: ``datasets`` raises ValueError, KeyError, TypeError...
        raise DsgenError(f"invalid configs ({_first_line(exc)})") from None


def _first_line(exc: Exception) -> str:
    return next((line.strip() for line in str(exc).splitlines() if line.strip()), type(exc).__name__)


def _yaml_position(exc: Exception, match) -> str:
    mark = getattr(exc, "problem_mark", None)
    if mark is None:
        return ""
    before = len(match.group(1).splitlines())  # the opening '---' (and any blank lines above it)
    return f" at line {before + mark.line + 1}, column {mark.column + 1}"


def _yaml_message(exc: Exception) -> str:
    parts = [getattr(exc, "context", None), getattr(exc, "problem", None)]
    message = ", ".join(p for p in parts if p) or str(exc)
    return " ".join(message.split())


def _matching_files(dataset_dir: Path, patterns: list) -> list[str]:
    """The files ``patterns`` (relative to ``dataset_dir``, maybe globs) name, as relative paths."""
    import glob
    import os

    root = dataset_dir.resolve()
    found = set()
    for pattern in patterns:
        if not isinstance(pattern, str):
            continue
        for path in glob.glob(os.path.join(glob.escape(str(root)), pattern), recursive=True):
            resolved = Path(path).resolve()
            if resolved.is_file():
                found.add(resolved.relative_to(root).as_posix() if resolved.is_relative_to(root) else str(resolved))
    return sorted(found)
