"""Reading a build's dataset card back the way ``load_dataset`` does, for ``dsgen validate``:
does its front matter parse, do its ``configs`` name exactly the parquet files with rows, and
does its ``dataset_info`` (optional; ``load_dataset`` casts the data to its features and checks
its split sizes) describe those files?"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dsgen.errors import DsgenError
from dsgen.features import CONFIG_NAMES, SPLITS, features_difference
from dsgen.parquet_writer import shard_name

if TYPE_CHECKING:
    from dsgen.validate import Problem

CARD = "dataset/README.md"


@dataclass(frozen=True)
class Card:
    """What ``load_dataset`` takes from a card's front matter."""

    configs: dict[str, dict[str, list]]  # {config: {split: [path patterns]}}
    infos: dict[str, Any]  # {config: datasets.DatasetInfo}, from ``dataset_info`` (maybe none)


def card_problems(dataset_dir: Path, shard_rows: dict[tuple[str, str], int]) -> list[tuple[str, "Problem"]]:
    """``(config, Problem)`` for each way the card would keep ``load_dataset(dataset_dir, config)``
    from loading exactly the build's rows: front matter that does not parse (``card_invalid``),
    or ``configs`` that do not name each config/split file with rows, and only those
    (``card_configs_mismatch``; :func:`dsgen.card.card_data` leaves out splits without rows, since
    ``datasets`` cannot load an empty split), or a ``dataset_info`` that does not describe them
    (see :func:`_info_problems`). ``shard_rows`` counts the rows of the shards that could be
    read; the others are reported already and not judged here."""
    from dsgen.validate import Problem

    try:
        card = read_card(dataset_dir / "README.md")
    except DsgenError as exc:
        return [("card", Problem("card_invalid", f"{CARD}: {exc}"))]
    configs = card.configs
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
    return problems + _info_problems(card, shard_rows, dataset_dir)


def _info_problems(card: Card, shard_rows: dict[tuple[str, str], int], dataset_dir: Path) -> list[tuple[str, "Problem"]]:
    """``dataset_info`` entries that would change or break what ``load_dataset`` reads:
    features other than the parquet files' (the data is cast to them: another type, another
    label order, a missing or extra column; ``card_features_mismatch``), splits other than
    those in ``configs`` or ``num_examples`` other than the rows (``load_dataset`` fails;
    ``card_splits_mismatch``), a config that ``configs`` does not list (``card_configs_mismatch``),
    or a ``download_size`` other than the bytes of the config's files (``card_sizes_mismatch``:
    ``load_dataset`` caches a local folder's config under a hash of its card, not of its
    files, so a card left as it was over other files can serve the rows loaded before)."""
    from dsgen.features import FEATURES
    from dsgen.validate import Problem

    problems = []

    def mismatch(reason: str, config: str, detail: str) -> None:
        problems.append((config, Problem(reason, f"{CARD}: {detail}")))

    for name, info in card.infos.items():
        if name not in card.configs:
            mismatch("card_configs_mismatch", name,
                     f"dataset_info describes a config {name!r}, which configs do not list")
            continue
        if name not in CONFIG_NAMES:
            continue  # reported with configs
        difference = info.features is not None and features_difference(info.features, FEATURES[name])
        if difference:
            mismatch("card_features_mismatch", name,
                     f"dataset_info features of {name} do not match the parquet files: {difference}")
        listed = card.configs[name]
        if info.download_size is not None and all((name, split) in shard_rows for split in listed):
            held = sum((dataset_dir / name / shard_name(split)).stat().st_size for split in listed)
            if held != info.download_size:
                mismatch("card_sizes_mismatch", name,
                         f"dataset_info of {name} says download_size {info.download_size}; its files hold {held} bytes, "
                         "and load_dataset, which caches by the card, could give the rows of another build")
        if info.splits is None:
            continue  # load_dataset checks no split sizes either
        for split in info.splits:
            if split not in listed:
                mismatch("card_splits_mismatch", name,
                         f"dataset_info of {name} has a split {split!r}, which configs do not list")
        for split in listed:
            if split not in info.splits:
                mismatch("card_splits_mismatch", name,
                         f"dataset_info of {name} has no split {split!r}, which configs list")
            elif (name, split) in shard_rows and info.splits[split].num_examples != shard_rows[(name, split)]:
                mismatch("card_splits_mismatch", name,
                         f"dataset_info of {name} says {split} has {info.splits[split].num_examples} examples; "
                         f"{name}/{shard_name(split)} has {shard_rows[(name, split)]} rows")
    return problems


def read_card(readme: Path) -> Card:
    """The card's ``configs`` and ``dataset_info``, as ``load_dataset`` reads them.

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
        metadata_configs = MetadataConfigs.from_dataset_card_data(data)
        metadata_configs.get_default_config_name()  # refuses several `default: true`, as load_dataset does
        configs = {str(name): sanitize_patterns(params["data_files"]) if params.get("data_files") is not None else {}
                   for name, params in metadata_configs.items()}
    except Exception as exc:  # noqa: BLE001 - as above: ``datasets`` raises ValueError, KeyError, TypeError...
        raise DsgenError(f"invalid configs ({_first_line(exc)})") from None
    return Card(configs, _read_infos(data))


def _read_infos(data) -> dict[str, Any]:
    """``dataset_info`` parsed as ``load_dataset`` does (``DatasetInfosDict.from_dataset_card_data``).

    Raises:
        DsgenError: when ``load_dataset`` would fail on it, or would silently ignore it or
            part of it (one config described twice).
    """
    import logging

    from datasets.info import DatasetInfosDict

    raw = data.get("dataset_info")
    if raw is None:
        return {}
    entries = raw if isinstance(raw, list) else [raw]
    if not all(isinstance(entry, dict) for entry in entries):
        raise DsgenError("dataset_info is neither a mapping nor a list of mappings")
    names = [entry.get("config_name", "default") for entry in entries]  # "default": as load_dataset names it
    twice = next((name for i, name in enumerate(names) if name in names[:i]), None)
    if twice is not None:
        raise DsgenError(f"dataset_info describes config {twice!r} twice (load_dataset reads only the last)")
    log = logging.getLogger("datasets.info")  # it warns of malformed splits, which validate reports
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        return dict(DatasetInfosDict.from_dataset_card_data(data))
    except Exception as exc:  # noqa: BLE001 - as for configs
        first_sentence = _first_line(exc).split(". ")[0]  # not the list of every feature type
        raise DsgenError(f"invalid dataset_info ({first_sentence})") from None
    finally:
        log.setLevel(level)


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
