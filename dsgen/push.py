"""Upload a built dataset to the Hugging Face Hub as one atomic commit.

The repo receives exactly ``out/dataset``: ``README.md`` (whose ``configs:`` tell
``load_dataset`` what to read) and ``<config>/<split>-00000-of-00001.parquet``, so
``load_dataset(repo_id, name)`` on the Hub equals ``load_dataset("out/dataset", name)``.

Rules for a repo that already exists:

- empty (at most ``.gitattributes``) or holding a dsgen dataset (card tagged
  ``dsgen``): the new build replaces it; parquet shards of dsgen configs that the
  new build does not contain are deleted in the same commit;
- anything else: refused, unless ``force=True`` (``dsgen push --force``), which
  adds the dataset beside the other files and replaces their ``README.md``;
- ``private=True`` against an existing public repo: refused (visibility is only
  set when dsgen creates the repo).

The token (argument, else ``HF_TOKEN``, else the ``hf auth login`` token) is
only handed to ``huggingface_hub``: it never appears in messages, logs or ``out/``.
"""

from __future__ import annotations

import re

import contextlib
import json
import os
from pathlib import Path
from typing import Iterator

from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi, constants, get_token
from huggingface_hub.errors import HFValidationError, HfHubHTTPError, OfflineModeIsEnabled, RevisionNotFoundError
from huggingface_hub.utils import validate_repo_id

from dsgen.errors import DsgenError, PushError
from dsgen.features import CONFIG_NAMES, SPLITS
from dsgen.parquet_writer import shard_name

#: Tag the dataset card carries; marks a Hub repo as dsgen's to replace.
DSGEN_TAG = "dsgen"
#: Where ``push_dataset`` writes lm-eval tasks that read the pushed repo.
HUB_HARNESS_DIR = "lm_eval_hub"


def dataset_files(out_dir: str | Path) -> list[tuple[str, Path]]:
    """``(path in repo, local file)`` for every file a push uploads, in upload order.

    Raises:
        PushError: ``out_dir`` is not a complete dsgen build.
    """
    out = Path(out_dir)
    dataset = out / "dataset"
    if not dataset.is_dir():
        raise PushError(f"no built dataset at {dataset} (run `dsgen build` first)")
    wanted = [f"{config}/{shard_name(split)}" for config in CONFIG_NAMES for split in SPLITS] + ["README.md"]
    missing = [name for name in wanted if not (dataset / name).is_file()]
    if missing:
        raise PushError(f"{dataset} is not a complete dsgen build (missing {', '.join(missing[:3])}); rebuild it")
    return [(name, dataset / name) for name in wanted]


def push_dataset(
    out_dir: str | Path,
    repo_id: str,
    *,
    private: bool = False,
    token: str | None = None,
    revision: str | None = None,
    api: HfApi | None = None,
    force: bool = False,
) -> str:
    """Validate ``out_dir`` and upload its dataset to the Hub dataset repo ``repo_id``.

    Creates the repo (and the ``revision`` branch) when missing, uploads the card
    and every parquet file in one commit, then writes ``out_dir/lm_eval_hub/``:
    the lm-eval tasks pointed at the repo. Returns the repo URL.

    Raises:
        PushError: one line, without the token, for anything that stops the push.
    """
    try:
        validate_repo_id(repo_id)
    except HFValidationError:
        raise PushError(f"invalid Hub repo id {repo_id!r}: use 'name' or 'namespace/name'") from None
    if revision is not None:
        _check_branch_name(revision)
    out = Path(out_dir)
    if not out.is_dir():
        raise PushError(f"no build folder at {out} (run `dsgen build` first)")
    files = dataset_files(out)
    if _offline():
        raise PushError("cannot push while offline mode is on (HF_HUB_OFFLINE=1); unset it to upload")
    token = token or get_token()
    if not token:
        raise PushError("no Hugging Face token: pass --token, set HF_TOKEN, or run `hf auth login`")
    _check_valid(out)

    api = api or HfApi()
    with _hub_errors(repo_id, revision, token, api):
        # private=None lets a new repo take its namespace's default visibility.
        url = api.create_repo(repo_id, repo_type="dataset", private=private or None, exist_ok=True, token=token)
        if revision:
            api.create_branch(repo_id, branch=revision, repo_type="dataset", exist_ok=True, token=token)
        info = api.repo_info(repo_id, repo_type="dataset", revision=revision, token=token)
        operations = plan_operations(files, info, repo_id, private=private, force=force)
        api.create_commit(
            repo_id, operations, commit_message="Upload dataset built by dsgen",
            commit_description=_commit_description(out), repo_type="dataset", revision=revision,
            token=token, parent_commit=getattr(info, "sha", None),
        )
    from dsgen.harness import write_harness_tasks

    write_harness_tasks(out / HUB_HARNESS_DIR, repo_id=repo_id, revision=revision, counts=_counts(out))
    url = str(url).rstrip("/")
    return f"{url}/tree/{revision}" if revision else url


def plan_operations(files: list[tuple[str, Path]], info, repo_id: str, *, private: bool = False,
                    force: bool = False) -> list[CommitOperationAdd | CommitOperationDelete]:
    """The commit for ``files`` against the repo described by ``info`` (a ``DatasetInfo``).

    Applies the module's rules for existing repos; raises ``PushError`` on refusal.
    """
    if private and getattr(info, "private", None) is False:
        raise PushError(f"{repo_id} already exists and is public; --private only applies to new repos "
                        "(make it private on the Hub first, or drop --private)")
    remote = {s.rfilename for s in (getattr(info, "siblings", None) or [])}
    ours = {name for name, _ in files}
    card = getattr(info, "card_data", None)
    is_dsgen = DSGEN_TAG in ((card.get("tags") if card is not None else None) or [])
    deletes: list[str] = []
    if is_dsgen:
        # Shards of a previous dsgen push that this build no longer has.
        deletes = sorted(p for p in remote - ours if p.endswith(".parquet") and p.split("/", 1)[0] in CONFIG_NAMES)
    else:
        foreign = sorted(remote - {".gitattributes"})
        if foreign and not force:
            shown = ", ".join(foreign[:3]) + (", …" if len(foreign) > 3 else "")
            raise PushError(f"{repo_id} already holds files that are not a dsgen dataset ({shown}); "
                            "push to another repo id, or use --force to upload beside them")
    return [CommitOperationAdd(path_in_repo=name, path_or_fileobj=str(path)) for name, path in files] + [
        CommitOperationDelete(path_in_repo=name) for name in deletes
    ]


def _offline() -> bool:
    env = os.environ.get("HF_HUB_OFFLINE", "").strip().upper()
    return constants.is_offline_mode() or env in {"1", "ON", "YES", "TRUE"}


def _check_valid(out: Path) -> None:
    """Refuse to publish a build that ``dsgen validate`` would fail."""
    from dsgen.validate import validate_dataset

    try:
        result = validate_dataset(out)
    except DsgenError as exc:
        raise PushError(f"refusing to push: {exc}") from None
    if not result.ok:
        reasons = ", ".join(f"{r}={n}" for r, n in result.reason_counts().items())
        raise PushError(f"refusing to push {out}: {len(result.failures)} validation failure(s) ({reasons}); "
                        f"see `dsgen validate {out}`")


def _counts(out: Path) -> dict[str, dict[str, int]] | None:
    """Rows per config and split from the build report, or ``None`` when it is unreadable."""
    try:
        counts = json.loads((out / "build-report.json").read_text(encoding="utf-8"))["counts"]
        return {c: {s: int(n) for s, n in v.items()} for c, v in counts.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _commit_description(out: Path) -> str:
    counts = _counts(out)
    if counts is None:
        return "Built with dsgen."
    return "Built with dsgen. " + "; ".join(f"{c}: {v.get('train', 0)} train / {v.get('test', 0)} test"
                                          for c, v in counts.items()) + "."


def _network_errors() -> tuple[type[BaseException], ...]:
    """Transport-level failures of the HTTP clients huggingface_hub may use."""
    errors: list[type[BaseException]] = [ConnectionError, TimeoutError]
    for module in ("httpx2", "httpx"):
        with contextlib.suppress(ImportError):
            errors.append(__import__(module).TransportError)
    with contextlib.suppress(ImportError):
        import requests

        errors.append(requests.ConnectionError)
    return tuple(errors)


#: What git refuses in a branch name (``git check-ref-format --branch``), checked here so a
#: bad ``--revision`` fails before the repo is created: whitespace and control characters,
#: ``~^:?*[\``, ``..``, ``@{``, ``//``, a leading ``-`` or ``/``, a trailing ``/``, ``.`` or
#: ``.lock``, and a component starting with ``.``.
_BAD_BRANCH = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|//|^[-/]|/$|\.$|\.lock$|(?:^|/)\.")


def _check_branch_name(revision: str) -> None:
    if not revision:
        raise PushError("--revision is empty: name a branch, or leave it out to push to main")
    if revision == "@" or _BAD_BRANCH.search(revision):
        raise PushError(f"invalid --revision {revision!r}: not a valid branch name (no spaces, '..', "
                        "'~^:?*[\\', leading '-' or '/', trailing '/', '.' or '.lock')")


@contextlib.contextmanager
def _hub_errors(repo_id: str, revision: str | None, token: str, api: HfApi) -> Iterator[None]:
    """Turn huggingface_hub and network failures into one-line ``PushError``s."""

    def clean(text: object) -> str:
        line = next((ln.strip() for ln in str(text).splitlines() if ln.strip()), "")
        return line.replace(token, "***")[:200]

    try:
        yield
    except PushError:
        raise
    except OfflineModeIsEnabled:
        raise PushError("cannot push while offline mode is on (HF_HUB_OFFLINE=1); unset it to upload") from None
    except RevisionNotFoundError:
        raise PushError(f"revision {revision!r} not found in {repo_id}") from None
    except HfHubHTTPError as exc:
        status = getattr(exc.response, "status_code", None)
        if status == 401:
            raise PushError("the Hub rejected the token (401 Unauthorized): check --token, HF_TOKEN "
                            "or `hf auth login`") from None
        if status == 403:
            raise PushError(f"the token may not write to {repo_id} (403 Forbidden): use a token with write "
                            "access to that namespace") from None
        if status == 404:
            raise PushError(f"{repo_id} is not a dataset repo this token can see (404 Not Found)") from None
        if status in (409, 412):
            raise PushError(f"{repo_id} changed while pushing (HTTP {status}); run the push again") from None
        detail = clean(exc.server_message or exc)
        raise PushError(f"the Hub refused the push to {repo_id} (HTTP {status}): {detail}") from None
    except _network_errors() as exc:
        endpoint = getattr(api, "endpoint", None) or constants.ENDPOINT
        raise PushError(f"cannot reach the Hugging Face Hub at {endpoint} ({type(exc).__name__}: {clean(exc)}); "
                        "check the network or HF_ENDPOINT") from None
