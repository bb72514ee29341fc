"""Fixtures for backend tests: a tiny real model, a loopback OpenAI-style server, the embedded model.

``tests/conftest.py`` registers this module as a plugin (``pytest_plugins``), so every test module
shares one instance of each session fixture (the embedded model is loaded once per run).
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

TINY_CORPUS = [
    "The river flows north through the old city and past the stone bridge.",
    "In 1887 the council built a library with 4,000 books.",
    "Question: Who built the library?\nAnswer: The council.",
    "Question: When was the bridge finished?\nAnswer: In 1902.",
    "Summary: A city grew beside a river; its people built a bridge and a library.",
    "Claim: The library opened in 1887.\nLabel: SUPPORTS",
]


def build_tiny_model(folder: Path, seed: int = 0) -> Path:
    """Save a randomly initialised 2-layer Llama and a BPE tokenizer trained in code.

    Real ``transformers`` classes, a few hundred kB, built offline in about a second.
    """
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    specials = ["<pad>", "<s>", "</s>", "<unk>"]
    bpe = Tokenizer(models.BPE(unk_token="<unk>"))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=300,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    bpe.train_from_iterator(TINY_CORPUS, trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe, pad_token="<pad>", bos_token="<s>", eos_token="</s>", unk_token="<unk>"
    )

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        # dsgen's few-shot prompts run to hundreds of tokens with this tiny vocabulary, and
        # the backend refuses prompts longer than the model's context.
        max_position_embeddings=2048,
        # Wide weights give well-separated logits, so greedy decoding has no near-ties
        # and batched vs unbatched comparisons are exact.
        initializer_range=0.5,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    model = LlamaForCausalLM(config)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """Folder of a tiny random Llama with a real tokenizer."""
    return build_tiny_model(tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture(scope="session")
def tiny_backend(tiny_model_dir):
    """A ``TransformersBackend`` over the tiny model, shared by the session."""
    from dsgen.backends.transformers_backend import TransformersBackend

    return TransformersBackend(model=tiny_model_dir, batch_size=4, num_threads=1)


@pytest.fixture(scope="session")
def embedded_backend():
    """The real embedded Gemma 3 270M, loaded once per session (converts on first use)."""
    from dsgen.backends.transformers_backend import TransformersBackend

    backend = TransformersBackend(batch_size=4)
    yield backend
    backend.close()


# --------------------------------------------------------------------------- HTTP server


def fake_completion(prompt: str) -> str:
    """What the loopback server answers: derived from the prompt, followed by a stop line."""
    return f" echo[{prompt[-12:]}]\nQuestion: extra text the client must cut"


class _Handler(BaseHTTPRequestHandler):
    server: "FakeOpenAIServer"

    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    def do_POST(self) -> None:  # noqa: N802 - http.server naming
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        self.server.record(self.path, dict(self.headers), body)
        if self.server.reply is not None:
            status, headers, data = self.server.reply
            self.send_response(status)
            for name, value in {"Content-Length": str(len(data)), **headers}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
            return
        prompt = body.get("prompt") or body.get("messages", [{}])[-1].get("content", "")
        status = self.server.next_failure() or self.server.status_for(prompt)
        if status is not None:
            self._send(status, {"error": {"message": self.server.error_message(status)}})
            return
        if self.path == "/v1/completions":
            prompt = body["prompt"]
            choice = {"index": 0, "text": fake_completion(prompt), "finish_reason": "stop"}
        elif self.path == "/v1/chat/completions":
            prompt = body["messages"][-1]["content"]
            message = {"role": "assistant", "content": fake_completion(prompt)}
            choice = {"index": 0, "message": message, "finish_reason": "stop"}
        else:
            self._send(404, {"error": {"message": f"no route {self.path}"}})
            return
        self.server.stopping.wait(self.server.delay(prompt))  # cut short when the test ends
        usage = {"prompt_tokens": len(prompt.split()), "completion_tokens": 3}
        self._send(200, {"id": "x", "object": "text_completion", "choices": [choice], "usage": usage})

    def _send(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if status == 429:
            self.send_header("Retry-After", "0")
        self.end_headers()
        self.wfile.write(data)


class FakeOpenAIServer(ThreadingHTTPServer):
    """A real HTTP server on 127.0.0.1 speaking the OpenAI completions protocol.

    ``failures`` is a queue of HTTP statuses to answer before succeeding again;
    ``delay`` maps a prompt to seconds to wait (to shuffle completion order, or to hang);
    ``status_for`` maps a prompt to an HTTP status to fail it with (``None``: answer it);
    ``reply`` is one raw answer (status, headers, body bytes) given to every request instead;
    ``requests`` records (path, headers, body) of everything received.
    """

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.failures: list[int] = []
        self.requests: list[tuple[str, dict, dict]] = []
        self.delay = lambda prompt: 0.0
        self.status_for = lambda prompt: None
        self.echo_auth_in_errors = False
        self.reply: tuple[int, dict[str, str], bytes] | None = None
        self.stopping = threading.Event()
        self._lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def record(self, path: str, headers: dict, body: dict) -> None:
        with self._lock:
            self.requests.append((path, headers, body))

    def next_failure(self) -> int | None:
        with self._lock:
            return self.failures.pop(0) if self.failures else None

    def error_message(self, status: int) -> str:
        if self.echo_auth_in_errors:  # some servers echo the rejected key back
            auth = self.requests[-1][1].get("Authorization", "")
            return f"invalid key {auth}"
        return f"simulated {status}"


@pytest.fixture
def openai_server():
    """A fresh loopback OpenAI-compatible server, shut down after the test."""
    server = FakeOpenAIServer()
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.stopping.set()
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)
