"""Model backends and the model-call cache behave as the pipeline relies on."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from backend_fixtures import build_tiny_model, fake_completion
from dsgen.backends import GenerationParams, GenerationRequest, load_backend
from dsgen.backends.fake import FakeBackend
from dsgen.cache import CachedBackend, cache_key
from dsgen.errors import BackendError

PROMPTS = [
    "The river",
    "Question: Who built the library?\nAnswer:",
    "In 1887 the council built",
    "x",
    "Summary: A city grew beside a river; its people built",
]
NO_STOP = GenerationParams(max_new_tokens=16, stop=())
SECRET = "sk-test-SECRET-0123456789"


def requests_for(prompts, params=NO_STOP):
    return [GenerationRequest(p, params) for p in prompts]


# --------------------------------------------------------------------------- transformers


def test_transformers_returns_one_completion_per_prompt_in_order(tiny_backend):
    one_by_one = [tiny_backend.generate(requests_for([p]))[0] for p in PROMPTS]
    batched = tiny_backend.generate(requests_for(PROMPTS))
    assert len(batched) == len(PROMPTS)
    assert batched == one_by_one  # left padding + attention mask: padding changes nothing
    assert len(set(batched)) == len(PROMPTS)  # really different completions, not one repeated


def test_transformers_batch_size_does_not_change_greedy_output(tiny_model_dir, tiny_backend):
    from dsgen.backends.transformers_backend import TransformersBackend

    single = TransformersBackend(model=tiny_model_dir, batch_size=1, num_threads=1)
    assert single.generate(requests_for(PROMPTS)) == tiny_backend.generate(requests_for(PROMPTS))


def test_transformers_cuts_at_stop_string_and_stops_early(tiny_backend):
    prompt = PROMPTS[1]
    full = tiny_backend.generate(requests_for([prompt]))[0]
    stop = full[5:8]  # a string the model is known to produce
    params = GenerationParams(max_new_tokens=16, stop=(stop,))
    before = tiny_backend.stats.generated_tokens
    cut = tiny_backend.generate(requests_for([prompt], params))[0]
    assert cut == full[: full.index(stop)]
    assert tiny_backend.stats.generated_tokens - before < 16  # generation stopped early


def test_transformers_mixed_params_are_grouped_and_kept_in_order(tiny_backend):
    other = GenerationParams(max_new_tokens=4, stop=())
    mixed = [GenerationRequest(p, NO_STOP if i % 2 else other) for i, p in enumerate(PROMPTS)]
    expected = [tiny_backend.generate([r])[0] for r in mixed]
    assert tiny_backend.generate(mixed) == expected


def test_transformers_seeded_sampling_is_reproducible_and_batch_independent(tiny_backend):
    sample = GenerationParams(max_new_tokens=16, temperature=1.0, seed=7, stop=())
    first = tiny_backend.generate(requests_for(PROMPTS, sample))
    assert tiny_backend.generate(requests_for(PROMPTS, sample)) == first
    # A prompt's sample does not depend on its batch neighbours or position.
    assert tiny_backend.generate(requests_for(PROMPTS[2:], sample)) == first[2:]
    greedy = tiny_backend.generate(requests_for(PROMPTS))
    reseeded = GenerationParams(max_new_tokens=16, temperature=1.0, seed=8, stop=())
    assert first != greedy
    assert tiny_backend.generate(requests_for(PROMPTS, reseeded)) != first


def test_transformers_counts_tokens_and_reports_progress(tiny_model_dir):
    from dsgen.backends.transformers_backend import TransformersBackend

    done = []
    backend = TransformersBackend(
        model=tiny_model_dir, batch_size=2, num_threads=1, progress=done.append
    )
    backend.generate(requests_for(PROMPTS))
    assert sum(done) == len(PROMPTS) and len(done) == 3
    assert backend.stats.calls == 1 and backend.stats.batches == 3
    assert 0 < backend.stats.generated_tokens <= 16 * len(PROMPTS)
    assert backend.stats.prompt_tokens > len(PROMPTS)
    assert backend.stats.tokens_per_second > 0


def test_transformers_model_id_is_folder_name(tiny_backend, tiny_model_dir):
    assert tiny_backend.model_id == tiny_model_dir.name
    assert tiny_backend.chat_template is False  # the tiny tokenizer has none


@pytest.mark.parametrize(
    "make_model, message",
    [
        (lambda tmp: tmp / "does-not-exist", "model folder not found"),
        (lambda tmp: (tmp / "empty").mkdir() or tmp / "empty", "cannot load model from"),
    ],
)
def test_transformers_bad_model_folder_is_one_line_backend_error(tmp_path, make_model, message):
    with pytest.raises(BackendError, match=message) as info:
        load_backend("transformers", model=str(make_model(tmp_path)))
    assert "\n" not in str(info.value)


def test_transformers_uses_chat_template_when_the_tokenizer_has_one(tiny_model_dir, tmp_path):
    import shutil

    from transformers import AutoTokenizer

    from dsgen.backends.transformers_backend import TransformersBackend

    chat_dir = shutil.copytree(tiny_model_dir, tmp_path / "tiny-chat")
    tokenizer = AutoTokenizer.from_pretrained(chat_dir)
    tokenizer.chat_template = (
        "{% for m in messages %}<s>[{{ m['role'] }}] {{ m['content'] }}\n{% endfor %}"
        "{% if add_generation_prompt %}[assistant]{% endif %}"
    )
    tokenizer.save_pretrained(chat_dir)

    chat = TransformersBackend(model=chat_dir, num_threads=1)
    plain = TransformersBackend(model=chat_dir, chat_template=False, num_threads=1)
    assert chat.chat_template is True
    wrapped = "<s>[user] The river\n[assistant]"
    assert chat.generate(requests_for(["The river"])) == plain.generate(requests_for([wrapped]))


def test_transformers_chat_template_requested_but_missing(tiny_model_dir):
    from dsgen.backends.transformers_backend import TransformersBackend

    backend = TransformersBackend(model=tiny_model_dir, chat_template=True, num_threads=1)
    with pytest.raises(BackendError, match="no chat template"):
        backend.generate(requests_for(["The river"]))


def test_a_fully_cached_rebuild_never_loads_the_model(tiny_model_dir, tmp_path):
    """The model loads on the first cache miss, so a rebuild answered from disk skips it."""
    from conftest import SEEDS, TEMPLATES
    from dsgen.backends.transformers_backend import TransformersBackend
    from dsgen.build import build
    from dsgen.config import load_config

    seeds = tmp_path / "seeds"
    seeds.mkdir()
    first = sorted(SEEDS.glob("*.txt"))[0]
    (seeds / first.name).write_text(first.read_text(encoding="utf-8"), encoding="utf-8")

    def run(out):
        config = load_config(None, seeds_dir=seeds, out_dir=out, backend="transformers", model=str(tiny_model_dir),
                             passes="qa_model,summarization_model,fact_check_model", templates_dir=TEMPLATES,
                             cache_dir=tmp_path / "calls", model_items_per_doc=1)
        backend = CachedBackend(TransformersBackend(model=tiny_model_dir, num_threads=1), tmp_path / "calls")
        build(config, backend=backend)
        return backend

    cold = run(tmp_path / "cold")
    assert cold.misses > 0 and cold.backend.loaded
    warm = run(tmp_path / "warm")
    assert warm.hits == cold.misses and warm.misses == 0
    assert not warm.backend.loaded  # no weights, tokenizer or conversion touched
    for config in ("qa", "summarization", "fact_check"):
        for split in ("train", "test"):
            shard = Path("dataset", config, f"{split}-00000-of-00001.parquet")
            assert (tmp_path / "warm" / shard).read_bytes() == (tmp_path / "cold" / shard).read_bytes()


def short_context_gpt2(folder: Path, positions: int = 64) -> Path:
    """A GPT-2 (learned positions: torch fails past them) with ``positions`` positions."""
    from transformers import AutoTokenizer, GPT2Config, GPT2LMHeadModel

    from tiny_models import build_tiny_causal_lm

    build_tiny_causal_lm(folder)  # for its tokenizer; the GPT-2 replaces config and weights
    tok = AutoTokenizer.from_pretrained(folder)
    config = GPT2Config(vocab_size=len(tok), n_positions=positions, n_embd=16, n_layer=1, n_head=2,
                        bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    GPT2LMHeadModel(config).save_pretrained(folder)
    return folder


def test_a_prompt_longer_than_the_models_context_is_one_line_error_before_any_generation(tmp_path):
    from dsgen.backends.transformers_backend import TransformersBackend

    backend = TransformersBackend(model=short_context_gpt2(tmp_path / "gpt2short"), chat_template=False, num_threads=1)
    fits = GenerationParams(max_new_tokens=8, stop=())
    assert len(backend.generate([GenerationRequest("The river", fits)])[0]) > 0
    long_prompt = "the company reported revenue in 2020 and its shares rose " * 20
    with pytest.raises(BackendError) as info:
        backend.generate([GenerationRequest("The river", fits), GenerationRequest(long_prompt, NO_STOP)])
    message = str(info.value)
    assert "\n" not in message and "64 positions (n_positions in its config.json)" in message
    assert f"a prompt of {len(backend.tokenizer(long_prompt)['input_ids'])} tokens plus up to 16 new tokens" in message
    assert backend.stats.batches == 1  # only the first call generated


def test_a_prompt_that_fits_only_without_the_new_tokens_is_refused_too(tmp_path):
    from dsgen.backends.transformers_backend import TransformersBackend

    backend = TransformersBackend(model=short_context_gpt2(tmp_path / "gpt2short"), chat_template=False, num_threads=1)
    n = len(backend.tokenizer("The river")["input_ids"])
    assert backend.generate([GenerationRequest("The river", GenerationParams(max_new_tokens=64 - n, stop=()))])
    with pytest.raises(BackendError, match=f"a prompt of {n} tokens plus up to {65 - n} new tokens"):
        backend.generate([GenerationRequest("The river", GenerationParams(max_new_tokens=65 - n, stop=()))])


def _copy_without(src: Path, dest: Path, keep) -> Path:
    import shutil

    dest.mkdir()
    for file in src.iterdir():
        if keep(file.name):
            shutil.copy(file, dest / file.name)
    return dest


@pytest.mark.parametrize(
    "make_model, message",
    [
        (lambda tiny, tmp: _copy_without(tiny, tmp / "notok", lambda n: "token" not in n),
         "cannot load model from {tmp}/notok: no tokenizer files (tokenizer.json, tokenizer.model, or vocab.json and "
         "merges.txt) in the folder"),
        (lambda tiny, tmp: _copy_without(tiny, tmp / "noweights", lambda n: not n.endswith(".safetensors")),
         "cannot load model from {tmp}/noweights: no weights (*.safetensors or pytorch_model.bin) in the folder"),
        (lambda tiny, tmp: _copy_without(tiny, tmp / "onlycfg", lambda n: n == "config.json"),
         "cannot load model from {tmp}/onlycfg: no weights (*.safetensors or pytorch_model.bin) and no tokenizer files"),
        (lambda tiny, tmp: tiny / "model.safetensors",
         "model {tiny}/model.safetensors is a file, not a model folder: give the folder holding its config.json"),
        (lambda tiny, tmp: "", "--model is empty: give a model folder or a .gguf file, or leave --model out"),
        (lambda tiny, tmp: "   ", "--model is empty"),
        (lambda tiny, tmp: "~nosuchuser-dsgen/models/qwen",
         "model folder not found: ~nosuchuser-dsgen/models/qwen (no such user's home folder)"),
    ],
)
def test_a_model_that_cannot_load_is_named_in_one_line_before_any_work(tiny_model_dir, tmp_path, make_model, message):
    from dsgen.backends.transformers_backend import TransformersBackend

    with pytest.raises(BackendError) as info:
        TransformersBackend(model=make_model(tiny_model_dir, tmp_path))  # lazy: this checks files only
    assert str(info.value).startswith(message.format(tiny=tiny_model_dir, tmp=tmp_path)), info.value
    assert "\n" not in str(info.value)


def test_a_model_folder_without_config_fails_before_any_work(tmp_path):
    from dsgen.backends.transformers_backend import TransformersBackend

    (tmp_path / "weights").mkdir()
    with pytest.raises(BackendError, match="no config.json"):
        TransformersBackend(model=tmp_path / "weights")


@pytest.mark.model
def test_embedded_model_generates_deterministic_batched_text(embedded_backend):
    prompts = ["The capital of France is", "Question: What is two plus two?\nAnswer:"]
    params = GenerationParams(max_new_tokens=8)
    first = embedded_backend.generate(requests_for(prompts, params))
    assert embedded_backend.model_id.startswith("google/gemma-3-270m")
    assert all(text.strip() for text in first)
    assert all("\n" not in text for text in first)
    assert embedded_backend.generate(requests_for(prompts, params)) == first


# --------------------------------------------------------------------------- openai


def openai(server, **kwargs):
    options = dict(model="served-model", base_url=server.base_url, api_key=SECRET, backoff=0.01)
    return load_backend("openai", **{**options, **kwargs})


def test_openai_completions_in_order_under_concurrency(openai_server):
    prompts = [f"prompt number {i}" for i in range(12)]
    # Early prompts answer last, so completion order is the reverse of request order.
    openai_server.delay = lambda prompt: 0.01 * (12 - int(prompt.split()[-1]))
    with openai(openai_server, concurrency=4) as backend:
        out = backend.generate(requests_for(prompts, GenerationParams(max_new_tokens=5)))
    assert out == [fake_completion(p).split("\n")[0] for p in prompts]  # cut at "\n"
    assert backend.stats.batches == 12 and backend.stats.generated_tokens == 3 * 12
    path, headers, body = openai_server.requests[0]
    assert path == "/v1/completions"
    assert headers["Authorization"] == f"Bearer {SECRET}"
    assert body["max_tokens"] == 5 and body["temperature"] == 0.0 and body["stop"] == ["\n"]
    assert body["model"] == "served-model" and "seed" in body and "top_p" in body


def test_openai_chat_sends_prompt_as_one_user_message(openai_server):
    with openai(openai_server, chat=True) as backend:
        assert backend.generate(requests_for(["hello there"])) == [fake_completion("hello there")]
    path, _, body = openai_server.requests[0]
    assert path == "/v1/chat/completions"
    assert body["messages"] == [{"role": "user", "content": "hello there"}]


@pytest.mark.parametrize("status", [500, 503, 429])
def test_openai_retries_transient_errors_then_succeeds(openai_server, status):
    openai_server.failures = [status, status]
    with openai(openai_server, max_retries=3) as backend:
        assert backend.generate(requests_for(["p"])) == [fake_completion("p")]
    assert len(openai_server.requests) == 3


def test_openai_gives_up_after_max_retries(openai_server):
    openai_server.failures = [500] * 10
    with openai(openai_server, max_retries=2) as backend:
        with pytest.raises(BackendError, match="HTTP 500"):
            backend.generate(requests_for(["p"]))
    assert len(openai_server.requests) == 3


def test_openai_client_error_is_not_retried_and_key_is_scrubbed(openai_server):
    openai_server.failures = [401]
    openai_server.echo_auth_in_errors = True
    with openai(openai_server) as backend:
        with pytest.raises(BackendError, match="HTTP 401") as info:
            backend.generate(requests_for(["p"]))
    assert len(openai_server.requests) == 1
    assert SECRET not in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("key", ["k", "v1", "127.0.0.1"])
def test_openai_a_short_key_is_hidden_without_garbling_the_address_or_words(openai_server, key):
    """Ollama's documented key is ``ollama``: hiding its text everywhere turned the address
    into ``http://***:11434/v1`` and, for a key ``k``, "check" into "chec***"."""
    openai_server.failures = [401]
    openai_server.echo_auth_in_errors = True
    with openai(openai_server, api_key=key) as backend:
        with pytest.raises(BackendError) as info:
            backend.generate(requests_for(["p"]))
    assert str(info.value) == (f"{openai_server.base_url}/completions answered HTTP 401 (check the API key: "
                               "OPENAI_API_KEY or DSGEN_API_KEY): invalid key Bearer ***")


@pytest.mark.parametrize(
    "echoed, shown",
    [
        ("Authorization: Bearer ok; token refused", "Authorization: Bearer ***; token refused"),
        ('{"authorization": "ok"} is not okay', '{"authorization": "***"} is not okay'),
        ("key ok is not valid; known keys: joke, token", "key *** is not valid; known keys: joke, token"),
        ("bad key=ok. Look it up", "bad key=***. Look it up"),
    ],
)
def test_openai_a_key_echoed_by_the_server_is_hidden_but_not_inside_words(openai_server, echoed, shown):
    body = json.dumps({"error": {"message": echoed}}).encode()
    openai_server.reply = (400, {"Content-Type": "application/json"}, body)
    with openai(openai_server, api_key="ok") as backend:
        with pytest.raises(BackendError) as info:
            backend.generate(requests_for(["p"]))
    assert str(info.value) == f"{openai_server.base_url}/completions answered HTTP 400: {shown}"


@pytest.mark.parametrize("status", [301, 302, 307, 308])
@pytest.mark.parametrize(
    "location, shown",
    [("https://127.0.0.1/v1/completions", "https://127.0.0.1/v1/completions"),
     ("/api/v1/completions", "{root}/api/v1/completions")],
)
def test_openai_a_redirect_is_reported_as_such_and_not_followed(openai_server, status, location, shown):
    openai_server.reply = (status, {"Location": location}, b"")
    with openai(openai_server) as backend:
        with pytest.raises(BackendError) as info:
            backend.generate(requests_for(["p"]))
    shown = shown.format(root=openai_server.base_url.removesuffix("/v1"))
    assert str(info.value) == (f"{openai_server.base_url}/completions answered HTTP {status} "
                               f"(redirect to {shown}); use --base-url {shown.removesuffix('/completions')}")
    assert len(openai_server.requests) == 1


def test_openai_an_answer_that_is_not_json_names_its_status_and_type(openai_server):
    openai_server.reply = (200, {"Content-Type": "text/html"}, b"<html>proxy login</html>")
    with openai(openai_server) as backend:
        with pytest.raises(BackendError) as info:
            backend.generate(requests_for(["p"]))
    assert str(info.value) == f"{openai_server.base_url}/completions answered HTTP 200 with a body that is not JSON (text/html)"


def test_openai_the_first_request_to_fail_for_good_fails_the_batch_at_once(openai_server):
    """Before, the batch waited for the first request's retries (and queued requests kept
    starting) before reporting anything, and then reported that request's error."""
    openai_server.status_for = lambda prompt: 400 if prompt == "bad" else 503
    prompts = ["retried", "bad"] + [f"queued {i}" for i in range(6)]
    with openai(openai_server, concurrency=2, max_retries=3, backoff=0.5) as backend:
        with pytest.raises(BackendError, match="HTTP 400: simulated 400"):
            backend.generate(requests_for(prompts))
        time.sleep(1.0)  # longer than the retried request's first backoff
    sent = [body["prompt"] for _, _, body in openai_server.requests]
    assert sorted(sent) == ["bad", "retried"]


def _generate_within(backend, prompts, seconds):
    """``backend.generate(prompts)`` in a daemon thread: its outcome, or a failed test
    after ``seconds`` (the thread is left behind rather than waited for)."""
    outcome = []

    def run():
        try:
            outcome.append(backend.generate(requests_for(prompts)))
        except BaseException as exc:  # noqa: BLE001
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert outcome, f"generate() still running after {seconds} s"
    return outcome[0]


@pytest.mark.parametrize("retry_after, shown", [("3600", "3600 s"), ("{date}", "7(199|200|201) s")])
def test_openai_a_retry_after_beyond_the_cap_gives_up_and_says_so(openai_server, retry_after, shown):
    from email.utils import format_datetime
    from datetime import datetime, timedelta, timezone

    date = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=7200), usegmt=True)
    body = json.dumps({"error": {"message": "rate limited"}}).encode()
    openai_server.reply = (429, {"Retry-After": retry_after.format(date=date)}, body)
    with openai(openai_server, concurrency=4) as backend:
        error = _generate_within(backend, ["p", "q", "r", "s", "t", "u"], 10)
    assert isinstance(error, BackendError)
    assert re.fullmatch(re.escape(f"{openai_server.base_url}/completions answered HTTP 429: rate limited (the server "
                                  "asks to retry after ") + shown + re.escape("; dsgen waits at most 60 s, so it gave up)"),
                        str(error)), str(error)
    assert len(openai_server.requests) <= 4  # the first wave only: no request started after the failure


def test_openai_unreachable_server_is_one_line_error_without_key():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    backend = load_backend(
        "openai", model="m", base_url=url, api_key=SECRET, max_retries=1, backoff=0.01
    )
    with pytest.raises(BackendError) as info:
        backend.generate(requests_for(["p", "q", "r"]))
    message = str(info.value)
    assert message.startswith(f"cannot reach OpenAI-compatible server at {url}: connection refused")
    assert "\n" not in message and SECRET not in message
    assert SECRET not in repr(backend)


def test_openai_password_in_the_server_address_never_shows():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    backend = load_backend("openai", model="m", base_url=f"http://alice:pa55-w0rd@127.0.0.1:{port}/v1",
                           max_retries=0, backoff=0.01)
    with pytest.raises(BackendError) as info:
        backend.generate(requests_for(["p"]))
    message = str(info.value)
    assert "pa55-w0rd" not in message and "pa55-w0rd" not in repr(backend)
    assert f"http://alice:***@127.0.0.1:{port}/v1" in message


@pytest.mark.parametrize("chat", [False, True], ids=["completions", "chat"])
@pytest.mark.parametrize("text", [42, ["a"], {"a": 1}, True])
def test_openai_a_completion_that_is_not_a_string_is_one_line_error(openai_server, chat, text):
    choice = {"message": {"role": "assistant", "content": text}} if chat else {"text": text}
    openai_server.reply = (200, {"Content-Type": "application/json"}, json.dumps({"choices": [choice]}).encode())
    with openai(openai_server, chat=chat) as backend:
        with pytest.raises(BackendError) as info:
            backend.generate(requests_for(["p"]))
    path = "/chat/completions" if chat else "/completions"
    field = "message.content" if chat else "text"
    assert str(info.value) == f"unexpected answer from {openai_server.base_url}{path}: choices[0].{field} is not a string"


@pytest.mark.parametrize(
    "usage",
    ['[1, 2]', '"lots"', '{"prompt_tokens": "n/a", "completion_tokens": null}', '{"prompt_tokens": NaN}',
     '{"prompt_tokens": 1e400, "completion_tokens": -Infinity}', '{"prompt_tokens": -3, "completion_tokens": true}'],
)
def test_openai_a_malformed_usage_is_ignored(openai_server, usage):
    """Token counts are statistics: an odd ``usage`` neither fails the build nor counts."""
    body = '{"choices": [{"text": "Who built it?"}], "usage": %s}' % usage
    openai_server.reply = (200, {"Content-Type": "application/json"}, body.encode())
    with openai(openai_server) as backend:
        assert backend.generate(requests_for(["p", "q"])) == ["Who built it?"] * 2
    assert (backend.stats.prompt_tokens, backend.stats.generated_tokens, backend.stats.batches) == (0, 0, 2)


@pytest.mark.parametrize(
    "url, reason",
    [
        ("http://[::1:8000/v1", "Invalid IPv6 URL"),
        ("notaurl", "expected http:// or https:// and a host"),
        ("ftp://files.example/v1", "expected http:// or https:// and a host"),
        ("http:///v1", "expected http:// or https:// and a host"),
        ("http://localhost:80000/v1", "Port out of range"),
        ("http://local host:8000/v1", "it contains a space"),
    ],
)
def test_openai_malformed_server_address_fails_at_once_without_a_request(url, reason, monkeypatch):
    sent = []
    monkeypatch.setattr("httpx.Client.send", lambda *args, **kwargs: sent.append(args))
    with pytest.raises(BackendError) as info:
        with load_backend("openai", model="m", base_url=url, api_key=SECRET, backoff=0.01) as backend:
            backend.generate(requests_for(["p"]))
    assert str(info.value).startswith(f"invalid server address {url!r} (--base-url or OPENAI_BASE_URL): {reason}")
    assert "\n" not in str(info.value) and sent == []


def test_openai_malformed_server_address_hides_its_password():
    with pytest.raises(BackendError) as info:
        load_backend("openai", model="m", base_url="http://alice:pa55-w0rd@[::1/v1")
    assert "pa55-w0rd" not in str(info.value) and "'http://alice:***@[::1/v1'" in str(info.value)


def test_openai_defaults_come_from_environment(monkeypatch, openai_server):
    monkeypatch.setenv("OPENAI_BASE_URL", openai_server.base_url)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("DSGEN_API_KEY", SECRET)
    with load_backend("openai", model="m") as backend:
        backend.generate(requests_for(["p"]))
    assert openai_server.requests[0][1]["Authorization"] == f"Bearer {SECRET}"


# --------------------------------------------------------------------------- fake


def test_fake_backend_replies_in_order_records_prompts_and_runs_out():
    fake = load_backend("fake", replies=["one\nrest", "two"])
    assert fake.generate(requests_for(["a"], GenerationParams())) == ["one"]
    assert fake.generate(requests_for(["b"])) == ["two"]
    assert fake.calls == ["a", "b"] and fake.model_id == "fake"
    with pytest.raises(BackendError, match="ran out of queued replies"):
        fake.generate(requests_for(["c"]))


def test_fake_backend_responder():
    fake = FakeBackend(responder=str.upper)
    assert fake.generate(requests_for(["ab", "cd"])) == ["AB", "CD"]


# --------------------------------------------------------------------------- cache


def counting_fake():
    return FakeBackend(responder=lambda prompt: f"answer to {prompt}")


def test_cache_second_run_makes_no_model_calls(tmp_path):
    reqs = requests_for([f"p{i}" for i in range(10)])
    first = CachedBackend(counting_fake(), tmp_path, chunk_size=3)
    out = first.generate(reqs)
    assert (first.hits, first.misses) == (0, 10)
    assert first.backend.batches == [3, 3, 3, 1]

    second = CachedBackend(counting_fake(), tmp_path)
    assert second.generate(reqs) == out
    assert (second.hits, second.misses) == (10, 0)
    assert second.backend.calls == []


def test_cache_deletes_hour_old_leftovers_of_killed_writes_but_not_fresh_ones(tmp_path):
    request = requests_for(["p"])[0]
    cache = CachedBackend(counting_fake(), tmp_path)
    key = cache_key(cache.model_id, request)
    folder = cache.model_dir / key[:2]
    folder.mkdir(parents=True)
    stale, fresh = folder / ".deadbeef-stale.tmp", folder / ".cafef00d-fresh.tmp"
    stale.write_text("{half an entr")
    fresh.write_text("{a write in progress")
    old = time.time() - 2 * 3600
    os.utime(stale, (old, old))

    cache.generate([request])
    assert not stale.exists() and fresh.exists()
    assert (folder / f"{key}.json").is_file()


def test_cache_keeps_finished_chunks_when_the_model_fails(tmp_path):
    reqs = requests_for([f"p{i}" for i in range(7)])
    failing = FakeBackend(replies=["r0", "r1", "r2"])  # runs out during the second chunk
    with pytest.raises(BackendError):
        CachedBackend(failing, tmp_path, chunk_size=3).generate(reqs)

    rerun = CachedBackend(counting_fake(), tmp_path, chunk_size=3)
    out = rerun.generate(reqs)
    assert out[:3] == ["r0", "r1", "r2"]
    assert rerun.backend.calls == [f"p{i}" for i in range(3, 7)]
    assert (rerun.hits, rerun.misses) == (3, 4)


def test_cache_survives_sigkill_mid_build(tmp_path):
    """A build killed with SIGKILL leaves only complete entries; the rerun does the rest."""
    script = textwrap.dedent(
        f"""
        import time
        from dsgen.backends import GenerationParams, GenerationRequest
        from dsgen.backends.fake import FakeBackend
        from dsgen.cache import CachedBackend
        def slow(prompt):
            time.sleep(0.05)
            return "answer to " + prompt
        reqs = [GenerationRequest(f"p{{i}}", GenerationParams(stop=())) for i in range(200)]
        CachedBackend(FakeBackend(responder=slow), {str(tmp_path)!r}, chunk_size=2).generate(reqs)
        """
    )
    repo = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(repo), os.environ.get("PYTHONPATH", "")])}
    child = subprocess.Popen([sys.executable, "-c", script], env=env)
    try:
        deadline = time.monotonic() + 30
        while len(list(tmp_path.rglob("*.json"))) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    saved = list(tmp_path.rglob("*.json"))
    assert 4 <= len(saved) < 200
    for path in saved:
        assert json.loads(path.read_text())["completion"].startswith("answer to p")

    rerun = CachedBackend(counting_fake(), tmp_path)
    reqs = requests_for([f"p{i}" for i in range(200)], GenerationParams(stop=()))
    assert rerun.generate(reqs) == [f"answer to p{i}" for i in range(200)]
    assert rerun.hits == len(saved) and rerun.misses == 200 - len(saved)


def test_cache_key_depends_on_model_prompt_and_every_param():
    base = GenerationRequest("p", GenerationParams())
    variants = [
        GenerationRequest("q", GenerationParams()),
        GenerationRequest("p", GenerationParams(max_new_tokens=65)),
        GenerationRequest("p", GenerationParams(temperature=0.7)),
        GenerationRequest("p", GenerationParams(top_p=0.9)),
        GenerationRequest("p", GenerationParams(seed=1)),
        GenerationRequest("p", GenerationParams(stop=("\n\n",))),
    ]
    keys = {cache_key("m", base), cache_key("other-model", base)}
    keys |= {cache_key("m", v) for v in variants}
    assert len(keys) == 2 + len(variants)
    assert cache_key("m", base) == cache_key("m", GenerationRequest("p", GenerationParams()))


def test_cache_different_params_call_the_model_again(tmp_path):
    CachedBackend(counting_fake(), tmp_path).generate(requests_for(["p"]))
    again = CachedBackend(counting_fake(), tmp_path)
    again.generate(requests_for(["p"], GenerationParams(max_new_tokens=3)))
    assert again.backend.calls == ["p"]


def test_cache_disabled_always_calls_and_writes_nothing(tmp_path):
    for _ in range(2):
        backend = CachedBackend(counting_fake(), tmp_path, enabled=False)
        backend.generate(requests_for(["p", "q"]))
        assert backend.backend.calls == ["p", "q"] and backend.hits == 0
    assert not any(tmp_path.iterdir())


def test_cache_sends_duplicate_requests_once_and_reports_progress(tmp_path):
    done = []
    backend = CachedBackend(counting_fake(), tmp_path, chunk_size=2, progress=done.append)
    out = backend.generate(requests_for(["a", "b", "a", "c", "a"]))
    assert out == ["answer to a", "answer to b", "answer to a", "answer to c", "answer to a"]
    assert backend.backend.calls == ["a", "b", "c"]
    assert sum(done) == 5

    done.clear()
    CachedBackend(counting_fake(), tmp_path, progress=done.append).generate(requests_for(["a", "b"]))
    assert done == [2]


def test_cache_ignores_leftover_temp_files_and_recomputes_corrupt_entries(tmp_path):
    backend = CachedBackend(counting_fake(), tmp_path)
    backend.generate(requests_for(["p", "q"]))
    entries = sorted(tmp_path.rglob("*.json"))
    entries[0].write_text('{"completion": "trunc')  # e.g. edited by hand
    (entries[1].parent / ".deadbeef-x.tmp").write_text("{")  # left by a killed writer
    rerun = CachedBackend(counting_fake(), tmp_path)
    assert rerun.generate(requests_for(["p", "q"])) == ["answer to p", "answer to q"]
    assert (rerun.hits, rerun.misses) == (1, 1)


@pytest.mark.parametrize("text", ["[]", '"x"', "null", "3", '["completion"]'])
def test_cache_recomputes_an_entry_that_is_json_but_not_an_object(tmp_path, text):
    CachedBackend(counting_fake(), tmp_path).generate(requests_for(["p"]))
    (entry,) = tmp_path.rglob("*.json")
    entry.write_text(text)  # e.g. clobbered by a sync tool or edited by hand
    rerun = CachedBackend(counting_fake(), tmp_path)
    assert rerun.generate(requests_for(["p"])) == ["answer to p"]
    assert (rerun.hits, rerun.misses) == (0, 1)
    assert json.loads(entry.read_text())["completion"] == "answer to p"  # overwritten with a good entry


def test_cache_never_gives_one_model_another_models_answers_even_in_a_folder_of_the_same_name(tmp_path):
    """`run1/final` and `run2/final` are different models: the cache must tell them apart by
    more than the folder name, while the generator column still reads `final`."""
    from dsgen.backends.transformers_backend import TransformersBackend

    run1 = build_tiny_model(tmp_path / "run1" / "final", seed=1)
    run2 = build_tiny_model(tmp_path / "run2" / "final", seed=2)
    reqs = requests_for(PROMPTS[:3])
    first = CachedBackend(TransformersBackend(model=run1, num_threads=1), tmp_path / "calls")
    first.generate(reqs)
    second = CachedBackend(TransformersBackend(model=run2, num_threads=1), tmp_path / "calls")
    assert second.generate(reqs) == TransformersBackend(model=run2, num_threads=1).generate(reqs)
    assert (second.hits, second.misses) == (0, 3)
    assert first.model_id == second.model_id == "final"  # provenance stays the readable name


def test_cache_hits_for_the_same_model_again_and_misses_once_it_is_saved_again_in_place(tmp_path):
    from dsgen.backends.transformers_backend import TransformersBackend

    folder = build_tiny_model(tmp_path / "final", seed=1)
    reqs = requests_for(PROMPTS[:2])

    def run():
        backend = CachedBackend(TransformersBackend(model=folder, num_threads=1), tmp_path / "calls")
        return backend, backend.generate(reqs)

    run()
    again, _ = run()
    assert (again.hits, again.misses) == (2, 0) and not again.backend.loaded
    build_tiny_model(folder, seed=2)  # retrained in place: same names and sizes
    retrained, outputs = run()
    assert (retrained.hits, retrained.misses) == (0, 2)
    assert outputs == TransformersBackend(model=folder, num_threads=1).generate(reqs)


def test_the_embedded_model_keeps_its_cache_keys():
    """Caches filled before models were fingerprinted keep hitting for the embedded model,
    whose weights the package pins by sha256: its key is unchanged."""
    from dsgen.backends.transformers_backend import TransformersBackend

    cached = CachedBackend(TransformersBackend(), "calls")  # lazy: nothing is loaded or converted
    request = GenerationRequest("Question: Who built the library?\nAnswer:", GenerationParams())
    assert cached.cache_id == cached.model_id == "google/gemma-3-270m (GGUF Q4_K_M, embedded)"
    assert cache_key(cached.cache_id, request) == "70372cb8ba8338be9e575a1e9219997e59c6cf080455f6f6f27a0ad5069c9d90"
    assert cached.model_dir.name == "google-gemma-3-270m-GGUF-Q4_K_M-embedded-e47551b3"


def test_cache_report_merges_hits_with_the_model_token_counts(tmp_path, openai_server):
    with CachedBackend(openai(openai_server), tmp_path) as backend:
        backend.generate(requests_for(["p", "q"]))
        backend.generate(requests_for(["p"]))
        report = backend.report()
    assert report["cache_hits"] == 1 and report["cache_misses"] == 2
    assert report["generated_tokens"] == 6 and report["calls"] == 1
    assert report["tokens_per_second"] > 0


def test_cache_never_stores_the_api_key(tmp_path, openai_server):
    with CachedBackend(openai(openai_server), tmp_path) as backend:
        backend.generate(requests_for(["p", "q"]))
    files = list(tmp_path.rglob("*"))
    assert any(f.suffix == ".json" for f in files)
    for f in files:
        assert SECRET not in str(f)
        if f.is_file():
            assert SECRET not in f.read_text()
