"""The background half of a shipper: one daemon thread that takes batches from the ledger and POSTs them.

It holds no reference to its handler, so a handler nobody uses any more can be
garbage collected; its finalizer then stops this thread.
"""

from __future__ import annotations

import functools
import os
import ssl
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

# httpx2 imports its connection layer on first use; importing it here, at start-up, keeps that
# 100+ ms of import work (holding the GIL) out of the sender's first request, when the app is logging.
import httpcore2  # noqa: F401
import httpx2

from ._ledger import Ledger
from ._quiet import mark_sender_thread, silence_client_logs, unmark_sender_thread
from ._retry import REJECT, RETRY, SENT, RetryPolicy, outcome_of_status, parse_retry_after
from ._secrets import describe, redact
from .stats import REJECTED, RETRIES_EXHAUSTED

__all__ = ["Connection", "Sender", "VerifyTypes", "tls_context"]

VerifyTypes = bool | str | ssl.SSLContext


def tls_context(verify: VerifyTypes) -> ssl.SSLContext:
    """The TLS context for `verify`, built once per distinct setting: loading a CA bundle takes ~50 ms
    of CPU, which belongs at start-up, not in a sender thread competing with the app."""
    return verify if isinstance(verify, ssl.SSLContext) else _shared_context(verify)


@functools.cache
def _shared_context(verify: bool | str) -> ssl.SSLContext:
    if isinstance(verify, str):  # a CA bundle file or a directory of CA certificates
        if os.path.isfile(verify):
            return ssl.create_default_context(cafile=verify)
        if os.path.isdir(verify):
            return ssl.create_default_context(capath=verify)
        raise FileNotFoundError(verify)
    return httpx2.create_ssl_context(verify=verify)


@dataclass(frozen=True)
class Connection:
    """Where and how to POST. `transport` is the seam tests and custom networking plug into."""

    url: str
    headers: Mapping[str, str]
    connect_timeout_s: float
    read_timeout_s: float
    tls: ssl.SSLContext | None = None
    transport: httpx2.BaseTransport | None = None
    secrets: Sequence[str] = ()

    def __repr__(self) -> str:  # the URL and headers hold the token
        return "Connection(...)"

    def client(self) -> httpx2.Client:
        timeout = httpx2.Timeout(
            connect=self.connect_timeout_s,
            read=self.read_timeout_s,
            write=self.read_timeout_s,
            pool=self.connect_timeout_s,
        )
        return httpx2.Client(
            headers=dict(self.headers),
            timeout=timeout,
            verify=self.tls if self.tls is not None else True,
            transport=self.transport,
        )


class Sender:
    def __init__(
        self,
        *,
        connection: Connection,
        ledger: Ledger,
        encode_batch: Callable[[Sequence[bytes]], bytes],
        policy: RetryPolicy,
        flush_interval_s: float,
        name: str,
    ) -> None:
        self._connection = connection
        self._ledger = ledger
        self._encode_batch = encode_batch
        self._policy = policy
        self._flush_interval_s = flush_interval_s
        self._client: httpx2.Client | None = None
        # Set by close() once its deadline has passed: cuts a back-off wait short.
        self.stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        silence_client_logs()
        self._thread.start()

    def stop(self) -> None:
        self.stopping.set()

    def _run(self) -> None:
        mark_sender_thread()
        try:
            while (batch := self._ledger.take_batch(self._flush_interval_s)) is not None:
                try:
                    self._deliver(batch)
                except Exception as exc:
                    # A bug of ours (say, in a subclass's encode_batch) must not leave records uncounted.
                    self._ledger.settle(len(batch), REJECTED, "internal: " + self._describe(exc))
        finally:
            if self._client is not None:
                self._client.close()
            unmark_sender_thread()

    def _deliver(self, batch: Sequence[bytes]) -> None:
        body = self._encode_batch(batch)
        retry = 0
        while True:
            outcome, retry_after_s, error = self._post(body)
            if outcome == SENT:
                self._ledger.settle(len(batch), None)
                return
            if outcome == REJECT:
                self._ledger.settle(len(batch), REJECTED, error)
                return
            if retry >= self._policy.max_retries:
                self._ledger.settle(len(batch), RETRIES_EXHAUSTED, error)
                return
            self._ledger.note_error(error or "")
            if self.stopping.wait(self._policy.delay(retry, retry_after_s)):
                return  # close() has counted this batch as dropped at shutdown
            self._ledger.count_retry()
            retry += 1

    def _post(self, body: bytes) -> tuple[str, float | None, str | None]:
        try:
            if self._client is None:
                self._client = self._connection.client()
            response = self._client.post(self._connection.url, content=body)
        except Exception as exc:
            # Connection refused, timeouts, TLS failures, a broken pipe: all worth another try.
            return RETRY, None, self._describe(exc)
        outcome = outcome_of_status(response.status_code)
        if outcome == SENT:
            return SENT, None, None
        retry_after_s = parse_retry_after(response.headers.get("retry-after")) if outcome == RETRY else None
        return outcome, retry_after_s, self._describe_response(response)

    def _describe(self, exc: BaseException) -> str:
        return describe(exc, self._connection.secrets)

    def _describe_response(self, response: httpx2.Response) -> str:
        try:
            detail = response.text.strip().replace("\n", " ")[:200]
        except Exception:
            detail = ""
        return redact(f"HTTP {response.status_code} {detail}".rstrip(), self._connection.secrets)
