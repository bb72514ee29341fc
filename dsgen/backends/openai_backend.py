"""Any OpenAI-compatible server (vLLM, llama.cpp server, Ollama, TGI) as a backend."""

from __future__ import annotations

import os
import queue
import random
import re
import threading
import time
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Sequence
from urllib.parse import urlsplit

import httpx

from dsgen.backends.base import (
    Backend,
    GenerationRequest,
    GenerationStats,
    backends,
    cut_at_stop,
)
from dsgen.errors import BackendError

__all__ = ["OpenAIBackend"]

DEFAULT_BASE_URL = "http://localhost:8000/v1"
_RETRY_STATUS = {408, 429, 500, 502, 503, 504}
#: Longest pause a ``Retry-After`` answer may impose before a retry, in seconds.
MAX_RETRY_AFTER = 60.0
_MAX_STOP = 4  # the OpenAI API accepts at most four stop strings; the rest are cut locally
#: Credentials as a server may echo them: a bearer token, an ``Authorization`` header value.
_AUTH_VALUES = (
    re.compile(r"\b(bearer\s+)[^\s\"',;]+", re.IGNORECASE),
    re.compile(r"\b(authorization[\"']?\s*[:=]\s*[\"']?(?:(?:basic|bearer)\s+)?)[^\s\"',;]+", re.IGNORECASE),
)
#: A secret this long is hidden anywhere in a text, not only as a whole token.
_LONG_SECRET = 16


class _Stopped(Exception):
    """Raised inside a request thread when the batch has already failed (or was stopped)."""


@backends.register("openai")
class OpenAIBackend(Backend):
    """Completes prompts through ``/completions`` (or ``/chat/completions``) over HTTP.

    Requests run in parallel, at most ``concurrency`` at a time, and come back in request
    order. Connection errors, timeouts, 429 and 5xx answers are retried with exponential
    backoff (honouring ``Retry-After`` up to ``MAX_RETRY_AFTER`` seconds); anything else, and
    the last failed retry, fails the whole batch at once with a one-line ``BackendError``.
    The API key is sent as a bearer token and appears in no message, log or ``repr``.

    Args:
        model: Model name the server knows (also this backend's ``model_id``).
        base_url: Server root including ``/v1``; default ``$OPENAI_BASE_URL`` or
            ``http://localhost:8000/v1``.
        api_key: Bearer token; default ``$OPENAI_API_KEY``, then ``$DSGEN_API_KEY``.
        concurrency: Requests in flight at once.
        timeout: Seconds per HTTP request.
        max_retries: Retries per request after the first attempt.
        chat: ``True`` sends the prompt as one user message to ``/chat/completions``.
        backoff: First retry delay in seconds; doubles each retry.
    """

    def __init__(
        self,
        model: str,
        base_url: str | None = None,
        api_key: str | None = None,
        concurrency: int = 4,
        timeout: float = 60.0,
        max_retries: int = 3,
        chat: bool = False,
        backoff: float = 0.5,
    ) -> None:
        if not model:
            raise BackendError("the openai backend needs a model name (--model NAME)")
        if concurrency < 1:
            raise BackendError(f"concurrency must be at least 1, got {concurrency}")
        self.model = model
        self.model_id = model
        self.base_url = _checked_url((base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL).rstrip("/"))
        self._shown_url = _without_password(self.base_url)  # what errors and repr print
        self.concurrency = concurrency
        self.timeout = timeout
        self.max_retries = max(0, max_retries)
        self.chat = chat
        self.backoff = backoff
        self.stats = GenerationStats()
        self._lock = threading.Lock()
        key = api_key or os.environ.get("OPENAI_API_KEY") or os.environ.get("DSGEN_API_KEY")
        # Never printed: the API key, and a password written into the server address.
        self._secrets = tuple(x for x in (key, urlsplit(self.base_url).password) if x)
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._client = httpx.Client(
            base_url=self.base_url,
            headers=headers,
            timeout=timeout,
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
        )

    def __repr__(self) -> str:
        return f"OpenAIBackend(model={self.model!r}, base_url={self._shown_url!r}, chat={self.chat})"

    def generate(self, requests: Sequence[GenerationRequest]) -> list[str]:
        started = time.perf_counter()
        try:
            if self.concurrency == 1 or len(requests) <= 1:
                stop = threading.Event()  # never set: here Ctrl-C interrupts the request itself
                return [self._complete(r, stop) for r in requests]
            return self._in_parallel(requests)
        finally:
            self.stats.calls += 1
            self.stats.seconds += time.perf_counter() - started

    def _in_parallel(self, requests: Sequence[GenerationRequest]) -> list[str]:
        """Send ``requests`` from at most ``concurrency`` threads; completions in request order.

        The first request to fail for good fails them all, and the caller gets its error at
        once: no queued request starts and no retry begins after it (nor after Ctrl-C). Nor
        does anyone wait for requests still in flight: their threads are daemons, left to
        finish or time out on their own, so a stuck server cannot hold up an interrupted build
        (waiting for them took up to four 60 s timeouts).
        """
        stop = threading.Event()
        todo: queue.SimpleQueue = queue.SimpleQueue()
        for item in enumerate(requests):
            todo.put(item)
        done: queue.SimpleQueue = queue.SimpleQueue()

        def work() -> None:
            while not stop.is_set():
                try:
                    i, request = todo.get_nowait()
                except queue.Empty:
                    return
                try:
                    done.put((i, self._complete(request, stop), None))
                except _Stopped:
                    return
                except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
                    done.put((i, None, exc))
                    stop.set()
                    return

        for n in range(min(self.concurrency, len(requests))):
            threading.Thread(target=work, name=f"dsgen-openai-{n}", daemon=True).start()
        results: list[str] = [""] * len(requests)
        try:
            for _ in requests:
                i, text, error = done.get()
                if error is not None:
                    raise error
                results[i] = text
        finally:
            stop.set()
        return results

    def close(self) -> None:
        self._client.close()

    # ----------------------------------------------------------------- internals

    def _payload(self, request: GenerationRequest) -> tuple[str, dict]:
        params = request.params
        body: dict = {
            "model": self.model,
            "max_tokens": params.max_new_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "seed": params.seed,
        }
        stop = [s for s in params.stop if s][:_MAX_STOP]
        if stop:
            body["stop"] = stop
        if self.chat:
            body["messages"] = [{"role": "user", "content": request.prompt}]
            return "/chat/completions", body
        body["prompt"] = request.prompt
        return "/completions", body

    def _complete(self, request: GenerationRequest, stop: threading.Event) -> str:
        path, body = self._payload(request)
        data = self._post(path, body, stop)
        field = "message.content" if self.chat else "text"
        try:
            choice = data["choices"][0]
            text = choice["message"]["content"] if self.chat else choice["text"]
        except (KeyError, IndexError, TypeError):
            raise BackendError(f"unexpected answer from {self._shown_url}{path}: no choices[0].{field}") from None
        if text is None:  # e.g. a chat answer with no content: an empty completion, which validation rejects
            text = ""
        if not isinstance(text, str):
            raise BackendError(f"unexpected answer from {self._shown_url}{path}: choices[0].{field} is not a string")
        usage = data.get("usage") if isinstance(data, dict) else None
        with self._lock:
            self.stats.batches += 1
            self.stats.prompt_tokens += _token_count(usage, "prompt_tokens")
            self.stats.generated_tokens += _token_count(usage, "completion_tokens")
        return cut_at_stop(text, request.params.stop)

    def _post(self, path: str, body: dict, stop: threading.Event) -> dict:
        for attempt in range(self.max_retries + 1):
            if stop.is_set():
                raise _Stopped
            last_try = attempt == self.max_retries
            try:
                response = self._client.post(path, json=body)
            except httpx.TransportError as exc:
                if last_try:
                    raise BackendError(self._transport_message(exc, attempt + 1)) from None
                self._wait(stop, self._backoff(attempt))
                continue
            if response.status_code in _RETRY_STATUS and not last_try:
                self._wait(stop, max(self._backoff(attempt), self._retry_after(path, response)))
                continue
            if response.status_code >= 300:
                raise BackendError(self._status_message(path, response))
            try:
                return response.json()
            except ValueError:
                kind = response.headers.get("content-type") or "no Content-Type"
                raise BackendError(f"{self._shown_url}{path} answered HTTP {response.status_code} with a body "
                                   f"that is not JSON ({self._scrub(kind)[:80]})") from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _backoff(self, attempt: int) -> float:
        return self.backoff * (2**attempt) * (1 + random.random() / 4)

    @staticmethod
    def _wait(stop: threading.Event, seconds: float) -> None:
        """Sleep before a retry, unless another request fails for good or the build stops."""
        if stop.wait(seconds):
            raise _Stopped

    def _retry_after(self, path: str, response: httpx.Response) -> float:
        """The pause a ``Retry-After`` header asks for (seconds or an HTTP date), 0 without one.

        Raises:
            BackendError: the server asks for more than ``MAX_RETRY_AFTER`` seconds; waiting
                that long without a word would look like a hang.
        """
        value = (response.headers.get("retry-after") or "").strip()
        seconds = 0.0
        if value.isdigit():
            seconds = float(value)
        elif value:
            try:
                seconds = (parsedate_to_datetime(value) - datetime.now(timezone.utc)).total_seconds()
            except (TypeError, ValueError, IndexError):
                seconds = 0.0  # unreadable: back off as usual
        if seconds > MAX_RETRY_AFTER:
            raise BackendError(f"{self._status_message(path, response)} (the server asks to retry after "
                               f"{seconds:.0f} s; dsgen waits at most {MAX_RETRY_AFTER:g} s, so it gave up)")
        return max(seconds, 0.0)

    def _transport_message(self, exc: httpx.TransportError, tries: int) -> str:
        if isinstance(exc, httpx.TimeoutException):
            reason = f"no answer within {self.timeout:g} s"
        elif isinstance(exc, httpx.ConnectError):
            reason = _reason(exc) or "connection failed"
        else:
            reason = _reason(exc) or type(exc).__name__
        return (f"cannot reach OpenAI-compatible server at {self._shown_url}: {self._scrub(reason)} "
                f"(after {tries} attempt{'s' if tries > 1 else ''})")

    def _status_message(self, path: str, response: httpx.Response) -> str:
        message = f"{self._shown_url}{path} answered HTTP {response.status_code}"
        if response.is_redirect:
            # Not followed: the request would go, key and all, to an address the user did not give.
            target = self._scrub(_redirect_target(response))
            hint = f"--base-url {target.removesuffix(path)}" if target.endswith(path) else "the address it redirects to"
            return f"{message} (redirect to {target}); use {hint}"
        if 300 <= response.status_code < 400:
            return message
        detail = ""
        try:
            error = response.json().get("error")
            detail = error.get("message", "") if isinstance(error, dict) else str(error or "")
        except (ValueError, AttributeError):
            detail = response.text
        detail = self._scrub(" ".join(str(detail).split()))[:200]  # scrub first: a cut key is still a leak
        if response.status_code in (401, 403):
            message += " (check the API key: OPENAI_API_KEY or DSGEN_API_KEY)"
        return f"{message}: {detail}" if detail else message

    def _scrub(self, text: str) -> str:
        """``text`` from the server or the network stack with the key (and a URL password) hidden.

        Servers sometimes echo a rejected key back. Hidden: a bearer token or ``Authorization``
        header value, and each secret where it stands as a whole token (or anywhere, when it is
        long enough never to be part of a word), so a short key such as Ollama's ``ollama``
        does not blank out words. Only text from outside goes through here, never the
        address the user gave.
        """
        for pattern in _AUTH_VALUES:
            text = pattern.sub(r"\1***", text)
        for secret in self._secrets:
            if len(secret) >= _LONG_SECRET:
                text = text.replace(secret, "***")
            else:
                text = re.sub(rf"(?<![\w.~+/-]){re.escape(secret)}(?![\w~+/=-]|\.\w)", "***", text)
        return text


def _redirect_target(response: httpx.Response) -> str:
    """The absolute address a redirect points to, without a password; cut to 200 characters."""
    location = response.headers.get("location", "")
    if not location:
        return "no Location given"
    try:
        location = str(response.request.url.join(location))
    except (httpx.InvalidURL, ValueError):
        pass
    return _without_password(" ".join(location.split()))[:200]


def _reason(exc: Exception) -> str:
    """A short lower-case cause, e.g. 'connection refused'."""
    text = " ".join(str(exc).split())
    lowered = text.lower()
    for known in ("connection refused", "name or service not known", "no route to host",
                  "network is unreachable", "connection reset"):
        if known in lowered:
            return known
    return text[:200]


def _token_count(usage: object, name: str) -> int:
    """``usage[name]`` as a count, or 0 when the server sent none or something odd.

    Token counts only feed statistics, so a malformed ``usage`` never fails a build.
    """
    value = usage.get(name) if isinstance(usage, dict) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return 0
    return int(value) if 0 <= value < 2**63 else 0  # NaN and infinity fail the comparison


def _checked_url(url: str) -> str:
    """``url`` if it is an http(s) address with a host, else a one-line ``BackendError``.

    Checked before any request: a malformed address is a typo, never worth a retry.
    """
    example = "e.g. http://localhost:8000/v1"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in 0-65535
        httpx.URL(url)
    except (ValueError, httpx.InvalidURL) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise BackendError(f"invalid server address {_without_password(url)!r} (--base-url or OPENAI_BASE_URL): "
                           f"{reason}; {example}") from None
    if any(c.isspace() for c in url):
        raise BackendError(f"invalid server address {_without_password(url)!r} (--base-url or OPENAI_BASE_URL): "
                           f"it contains a space; {example}")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BackendError(f"invalid server address {_without_password(url)!r} (--base-url or OPENAI_BASE_URL): "
                           f"expected http:// or https:// and a host, {example}")
    return url


def _without_password(url: str) -> str:
    """``url`` with the password of a ``user:password@`` part replaced by ``***``.

    Works on text that does not parse as a URL too, so a malformed address can be shown.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    end = min((i for i in (rest.find(c) for c in "/?#") if i != -1), default=len(rest))
    netloc = rest[:end]
    if "@" not in netloc:
        return url
    userinfo, host = netloc.rsplit("@", 1)
    if ":" not in userinfo:
        return url
    return f"{scheme}://{userinfo.split(':', 1)[0]}:***@{host}{rest[end:]}"
