"""Pushing to the Hub, tested for real up to the network boundary.

No Hub is reachable here, so (as `datasets`' own tests do) only the four HfApi
calls that would touch the network are replaced, by ``FakeHub``: it keeps the
repo's files, so a test can rebuild the folder the Hub would hold and load it.
Error paths use real huggingface_hub requests against a local HTTP server or a
closed port. A fake token must never surface in messages, logs or ``out/``.
"""

from __future__ import annotations

import http.server
import json
import os
import shutil
import socket
import threading
from pathlib import Path

import datasets
import httpx2
import pyarrow.parquet as pq
import pytest
import yaml
from click.testing import CliRunner
from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi, RepoUrl, constants
from huggingface_hub.hf_api import CommitInfo, DatasetInfo
from huggingface_hub.utils import hf_raise_for_status

from conftest import SEEDS, TEMPLATES, assert_one_line_error
from dsgen.cli import cli
from dsgen.errors import PushError
from dsgen.features import CONFIG_NAMES, FEATURES
from dsgen.push import push_dataset

TOKEN = "hf_FAKEtoken0123456789abcdefSECRET"
REPO = "someone/dsgen-news"
EXPECTED_PATHS = [
    "documents/train-00000-of-00001.parquet", "documents/test-00000-of-00001.parquet",
    "qa/train-00000-of-00001.parquet", "qa/test-00000-of-00001.parquet",
    "summarization/train-00000-of-00001.parquet", "summarization/test-00000-of-00001.parquet",
    "fact_check/train-00000-of-00001.parquet", "fact_check/test-00000-of-00001.parquet",
    "README.md",
]


class FakeHub:
    """In-memory stand-in for one Hub dataset repo behind the four network calls."""

    def __init__(self) -> None:
        self.exists = False
        self.private: bool | None = None
        self.files: dict[str, bytes] = {}
        self.branches = {"main"}
        self.calls: list[tuple[str, dict]] = []
        self.commits: list[dict] = []
        self.foreign_commits = 0  # commits by someone else after our repo_info

    def install(self, monkeypatch) -> "FakeHub":
        hub = self

        def create_repo(self, repo_id, **kw):
            hub.calls.append(("create_repo", {"repo_id": repo_id, **kw}))
            if not hub.exists:
                hub.exists, hub.private = True, bool(kw.get("private"))
                hub.files = {".gitattributes": b"*.parquet filter=lfs diff=lfs merge=lfs -text\n"}
            return RepoUrl(f"https://huggingface.co/datasets/{repo_id}")

        def create_branch(self, repo_id, **kw):
            hub.calls.append(("create_branch", {"repo_id": repo_id, **kw}))
            hub.branches.add(kw["branch"])

        def repo_info(self, repo_id, **kw):
            hub.calls.append(("repo_info", {"repo_id": repo_id, **kw}))
            card = None
            if "README.md" in hub.files:
                text = hub.files["README.md"].decode()
                card = yaml.safe_load(text.split("---")[1]) if text.startswith("---") else {}
            return DatasetInfo(id=repo_id, sha=f"sha{len(hub.commits)}", private=hub.private, cardData=card,
                               siblings=[{"rfilename": name} for name in sorted(hub.files)])

        def create_commit(self, repo_id, operations, **kw):
            operations = list(operations)
            hub.calls.append(("create_commit", {"repo_id": repo_id, "operations": operations, **kw}))
            if kw.get("parent_commit") != f"sha{len(hub.commits) + hub.foreign_commits}":
                _raise_http(412, "parent commit is not the head of the branch")
            hub.commits.append({"operations": operations, **kw})
            for op in operations:
                if isinstance(op, CommitOperationAdd):
                    hub.files[op.path_in_repo] = Path(op.path_or_fileobj).read_bytes()
                elif isinstance(op, CommitOperationDelete):
                    del hub.files[op.path_in_repo]
            return CommitInfo(commit_url=f"https://huggingface.co/datasets/{repo_id}/commit/abc", commit_message=kw["commit_message"],
                              commit_description="", oid="abc")

        for name, fn in [("create_repo", create_repo), ("create_branch", create_branch),
                         ("repo_info", repo_info), ("create_commit", create_commit)]:
            monkeypatch.setattr(HfApi, name, fn)
        return self

    def materialize(self, folder: Path) -> Path:
        """The repo as a folder: what `git clone` of the Hub repo would give."""
        for name, data in self.files.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(data)
        return folder

    def names(self, call: str) -> list[str]:
        return [c for c, _ in self.calls if c == call]


def _raise_http(status: int, message: str):
    """Raise what huggingface_hub raises for a Hub answer with ``status``."""
    request = httpx2.Request("POST", "https://huggingface.co/api/datasets/x/commit/main")
    hf_raise_for_status(httpx2.Response(status, json={"error": message}, request=request))


@pytest.fixture
def no_saved_token(monkeypatch, tmp_path):
    """No HF_TOKEN and no saved login, whatever the machine has."""
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "no-token"))
    monkeypatch.setattr(constants, "HF_STORED_TOKENS_PATH", str(tmp_path / "no-stored-tokens"))


@pytest.fixture
def online(monkeypatch, no_saved_token):
    """Offline mode off (the test session sets HF_HUB_OFFLINE=1 by default)."""
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)


@pytest.fixture
def hub(monkeypatch, online) -> FakeHub:
    return FakeHub().install(monkeypatch)


def _load_all(folder: Path) -> dict[str, datasets.DatasetDict]:
    return {name: datasets.load_dataset(str(folder), name) for name in CONFIG_NAMES}


# --------------------------------------------------------------------------- what gets uploaded


def test_push_uploads_the_card_and_every_parquet_in_one_commit(built_copy, hub):
    url = push_dataset(built_copy, REPO, token=TOKEN)

    assert url == f"https://huggingface.co/datasets/{REPO}"
    assert hub.names("create_commit") == ["create_commit"]
    create_repo = dict(hub.calls)["create_repo"]
    assert create_repo["repo_type"] == "dataset" and create_repo["exist_ok"] is True
    commit = hub.commits[0]
    assert [op.path_in_repo for op in commit["operations"]] == EXPECTED_PATHS
    assert all(isinstance(op, CommitOperationAdd) for op in commit["operations"])
    for op in commit["operations"]:
        assert Path(op.path_or_fileobj) == built_copy / "dataset" / op.path_in_repo
    assert commit["repo_type"] == "dataset" and commit["revision"] is None
    assert commit["parent_commit"] == "sha0"  # refuses to commit over a concurrent push
    assert "qa:" in commit["commit_description"]
    assert all(kw.get("token") == TOKEN for _, kw in hub.calls)


def test_the_pushed_repo_loads_exactly_like_the_local_folder(built_copy, hub, tmp_path):
    push_dataset(built_copy, REPO, token=TOKEN)
    remote = hub.materialize(tmp_path / "remote")

    local, pushed = _load_all(built_copy / "dataset"), _load_all(remote)
    for name in CONFIG_NAMES:
        assert set(pushed[name]) == {"train", "test"}
        for split in ("train", "test"):
            assert pushed[name][split].features == FEATURES[name]
            assert pushed[name][split].to_list() == local[name][split].to_list()


def test_private_and_revision_reach_the_hub_and_the_url(built_copy, hub):
    url = push_dataset(built_copy, REPO, token=TOKEN, private=True, revision="v2")

    assert url == f"https://huggingface.co/datasets/{REPO}/tree/v2"
    calls = dict(hub.calls)
    assert calls["create_repo"]["private"] is True
    assert calls["create_branch"]["branch"] == "v2" and calls["create_branch"]["exist_ok"] is True
    assert calls["repo_info"]["revision"] == "v2"
    assert hub.commits[0]["revision"] == "v2"
    assert hub.names("create_branch") and hub.calls.index(("create_branch", calls["create_branch"])) < 2


@pytest.mark.parametrize("revision, words", [
    ("", ["--revision is empty", "push to main"]),
    ("v 2", ["invalid --revision 'v 2'", "branch name"]),
    ("../x", ["invalid --revision '../x'"]),
    ("-x", ["invalid --revision '-x'"]),
    ("x.lock", ["invalid --revision 'x.lock'"]),
])
def test_a_bad_revision_fails_before_anything_reaches_the_hub(built_copy, hub, revision, words):
    """An empty --revision pushed to main before; a name git refuses failed after the repo
    was created."""
    with pytest.raises(PushError) as err:
        push_dataset(built_copy, REPO, token=TOKEN, revision=revision)
    assert all(w in str(err.value) for w in words) and "\n" not in str(err.value), err.value
    assert hub.calls == [] and not hub.exists


def test_without_private_a_new_repo_gets_the_namespace_default(built_copy, hub):
    push_dataset(built_copy, REPO, token=TOKEN)
    assert dict(hub.calls)["create_repo"]["private"] is None
    assert hub.names("create_branch") == []


def test_after_a_push_lm_eval_tasks_point_at_the_hub_repo(built_copy, hub):
    push_dataset(built_copy, REPO, token=TOKEN, revision="v2")

    folder = built_copy / "lm_eval_hub"
    assert (folder / "utils.py").is_file() and (folder / "dsgen.yaml").is_file()
    qa = (folder / "dsgen_qa.yaml").read_text()
    assert f"dataset_path: {REPO}" in qa and "revision: v2" in qa
    local = (built_copy / "lm_eval" / "dsgen_qa.yaml").read_text()
    assert str((built_copy / "dataset").resolve()) not in qa and "dataset_path: /" in local


# --------------------------------------------------------------------------- existing repos


def test_a_second_push_replaces_the_dsgen_dataset_and_deletes_stale_shards(built_copy, hub):
    push_dataset(built_copy, REPO, token=TOKEN)
    hub.files["qa/train-00001-of-00002.parquet"] = b"old shard"
    hub.files["LICENSE"] = b"kept: not a dsgen shard"

    push_dataset(built_copy, REPO, token=TOKEN)

    second = hub.commits[1]["operations"]
    assert [op.path_in_repo for op in second if isinstance(op, CommitOperationDelete)] == ["qa/train-00001-of-00002.parquet"]
    assert "LICENSE" in hub.files and "qa/train-00001-of-00002.parquet" not in hub.files


def test_a_repo_with_other_content_is_refused_unless_forced(built_copy, hub):
    hub.exists, hub.private = True, False
    hub.files = {".gitattributes": b"", "README.md": b"---\nlicense: mit\n---\n# Mine\n", "data/train.csv": b"a,b\n"}

    with pytest.raises(PushError) as err:
        push_dataset(built_copy, REPO, token=TOKEN)
    assert "not a dsgen dataset" in str(err.value) and "data/train.csv" in str(err.value) and "--force" in str(err.value)
    assert hub.commits == []

    push_dataset(built_copy, REPO, token=TOKEN, force=True)
    assert hub.files["data/train.csv"] == b"a,b\n"  # kept beside the dataset
    assert b"dsgen" in hub.files["README.md"]


def test_a_concurrent_push_makes_the_commit_fail_cleanly(built_copy, hub, monkeypatch):
    real_repo_info = HfApi.repo_info

    def repo_info_then_someone_else_commits(self, repo_id, **kw):
        info = real_repo_info(self, repo_id, **kw)
        hub.foreign_commits += 1
        return info

    monkeypatch.setattr(HfApi, "repo_info", repo_info_then_someone_else_commits)
    with pytest.raises(PushError, match="changed while pushing") as err:
        push_dataset(built_copy, REPO, token=TOKEN)
    assert "\n" not in str(err.value) and hub.commits == []


def test_private_push_into_an_existing_public_repo_is_refused(built_copy, hub):
    hub.exists, hub.private, hub.files = True, False, {".gitattributes": b""}
    with pytest.raises(PushError, match="public"):
        push_dataset(built_copy, REPO, token=TOKEN, private=True)
    assert hub.commits == []


# --------------------------------------------------------------------------- tokens


def test_token_comes_from_hf_token_when_not_given(built_copy, hub, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    push_dataset(built_copy, REPO)
    assert hub.commits[0]["token"] == TOKEN


def test_token_comes_from_the_saved_login_last(built_copy, hub, monkeypatch, tmp_path):
    saved = tmp_path / "hf-home" / "token"
    saved.parent.mkdir()
    saved.write_text(TOKEN)
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(saved))
    push_dataset(built_copy, REPO)
    assert hub.commits[0]["token"] == TOKEN


def test_an_explicit_token_wins_over_hf_token(built_copy, hub, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_fromTheEnvironment")
    push_dataset(built_copy, REPO, token=TOKEN)
    assert hub.commits[0]["token"] == TOKEN


# --------------------------------------------------------------------------- errors: one line, no token


class _Refusing(http.server.BaseHTTPRequestHandler):
    """Answers every request like the Hub does for a bad or read-only token."""

    status = 401

    def _answer(self):
        body = json.dumps({"error": "Invalid credentials in Authorization header"}).encode()
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = _answer

    def log_message(self, *args):
        pass


@pytest.fixture
def refusing_hub(online):
    """A real HTTP server on localhost; yields a factory of HfApi clients for a status code."""
    servers = []

    def api_for(status: int) -> HfApi:
        handler = type("Handler", (_Refusing,), {"status": status})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return HfApi(endpoint=f"http://127.0.0.1:{server.server_address[1]}")

    yield api_for
    for server in servers:
        server.shutdown()
        server.server_close()


def _closed_port_api() -> HfApi:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return HfApi(endpoint=f"http://127.0.0.1:{port}")


def _break_a_row(out: Path) -> None:
    path = out / "dataset" / "qa" / "train-00000-of-00001.parquet"
    table = pq.read_table(path)
    rows = table.to_pylist()
    rows[0]["context_start"] += 1
    pq.write_table(type(table).from_pylist(rows, schema=table.schema), path)


ERROR_CASES = {
    "offline": ("offline mode", None),
    "unauthorized": ("401 Unauthorized", 401),
    "forbidden": ("403 Forbidden", 403),
    "unreachable": ("cannot reach the Hugging Face Hub", "closed"),
    "missing out_dir": ("no build folder", None),
    "incomplete build": ("not a complete dsgen build", None),
    "fails validation": ("validation failure", None),
    "no token": ("no Hugging Face token", None),
    "bad repo id": ("invalid Hub repo id", None),
}


@pytest.mark.parametrize("case", ERROR_CASES)
def test_every_push_error_is_one_line_without_the_token(case, built_copy, refusing_hub, monkeypatch, caplog, capfd):
    expected, server = ERROR_CASES[case]
    out, repo, token, api = built_copy, REPO, TOKEN, None
    if case == "offline":
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    elif server == "closed":
        api = _closed_port_api()
    elif server:
        api = refusing_hub(server)
    elif case == "missing out_dir":
        out = built_copy.parent / "never-built"
    elif case == "incomplete build":
        (out / "dataset" / "fact_check" / "test-00000-of-00001.parquet").unlink()
    elif case == "fails validation":
        _break_a_row(out)
    elif case == "no token":
        token = None
    elif case == "bad repo id":
        repo = "not a//repo"

    with caplog.at_level("DEBUG"), pytest.raises(PushError) as err:
        push_dataset(out, repo, token=token, api=api)

    message = str(err.value)
    assert expected in message and "\n" not in message, message
    chain, exc = [], err.value
    while exc is not None:  # the suppressed context must not carry it either
        chain.append(repr(exc) + str(exc))
        exc = exc.__cause__ or exc.__context__
    assert TOKEN not in "".join(chain) + caplog.text + "".join(capfd.readouterr())
    _assert_token_not_under(built_copy)
    assert not (built_copy / "lm_eval_hub").exists()


def _assert_token_not_under(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), path


def test_the_token_is_not_written_anywhere_under_out(built_copy, hub):
    push_dataset(built_copy, REPO, token=TOKEN)
    _assert_token_not_under(built_copy)


# --------------------------------------------------------------------------- the CLI


def _run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_cli_push_reports_the_url_and_never_the_token(built_copy, hub):
    result = _run("push", built_copy, REPO, "--token", TOKEN, "--private", "--revision", "v2")
    assert result.exit_code == 0, result.output
    assert f"https://huggingface.co/datasets/{REPO}/tree/v2" in result.output and "lm_eval_hub" in result.output
    assert TOKEN not in result.output
    assert dict(hub.calls)["create_repo"]["private"] is True


def test_cli_push_errors_are_one_line(built_copy, hub):
    hub.exists, hub.private, hub.files = True, False, {"data.csv": b"x"}
    result = _run("push", built_copy, REPO, "--token", TOKEN)
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and result.output.startswith("Error: ") and TOKEN not in result.output
    assert _run("push", built_copy, REPO, "--token", TOKEN, "--force").exit_code == 0


def test_cli_push_offline_is_one_line(built_copy, monkeypatch, no_saved_token):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    result = _run("push", built_copy, REPO, "--token", TOKEN)
    assert result.exit_code == 1 and "offline" in result.output and result.output.count("\n") == 1


def test_cli_push_of_a_build_moved_to_a_path_that_is_not_utf8_is_one_line(built, hub, tmp_path):
    """pyarrow cannot open the parquet files there to validate them: a traceback before."""
    out = tmp_path / os.fsdecode(b"bad\xffbyte")
    shutil.copytree(built, out)
    result = _run("push", out, REPO, "--token", TOKEN)
    assert_one_line_error(result, "refusing to push: cannot read the build in", "bad\\xffbyte: its path is not valid UTF-8")
    assert hub.calls == []


def test_cli_push_of_a_build_in_a_folder_with_a_line_break_reports_on_one_line(built, hub, tmp_path):
    out = tmp_path / "new\nline"
    shutil.copytree(built, out)
    result = _run("push", out, REPO, "--token", TOKEN)
    assert result.exit_code == 0, result.output
    line, = result.output.splitlines()
    assert line.startswith(f"Pushed {tmp_path}/new\\nline/dataset to https://huggingface.co/datasets/{REPO} "), line


def test_build_with_push_to_hub_builds_then_uploads(tmp_path, hub, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    out = tmp_path / "out"
    result = _run("build", SEEDS, "-o", out, "--backend", "none", "--templates", TEMPLATES, "-q", "--push-to-hub", REPO)
    assert result.exit_code == 0, result.output
    assert "Built" in result.output and f"Pushed {out}/dataset to https://huggingface.co/datasets/{REPO}" in result.output
    assert [op.path_in_repo for op in hub.commits[0]["operations"]] == EXPECTED_PATHS
    assert TOKEN not in result.output
    _assert_token_not_under(out)
    shutil.rmtree(out)
