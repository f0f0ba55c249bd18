"""`SplunkHECHandler`: records to a Splunk HTTP Event Collector, `/services/collector/event`.

The body is event envelopes one after another (not a JSON array), one per
line: HEC reads concatenated JSON objects and ignores whitespace between them.
Each envelope is built in the caller's thread, so the per-event size limit
applies to what is really sent.

Request size: Splunk Cloud Platform and Splunk Enterprise before 7.x refuse a
request over 1,000,000 bytes (`[http_input] max_content_length` in limits.conf;
later Enterprise versions default to 800 MiB), so batches stay within
1,000,000 bytes unless `max_batch_bytes` says otherwise.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from collections.abc import Mapping
from typing import Unpack
from urllib.parse import urlsplit, urlunsplit

from ._format import is_json_formatter
from .base import BadDestination, BatchingHTTPHandler, ShipperOptions

__all__ = ["SPLUNK_BATCH_BYTES", "SplunkHECHandler"]

SPLUNK_BATCH_BYTES = 1_000_000
EVENT_PATH = "/services/collector/event"


class SplunkHECHandler(BatchingHTTPHandler):
    """`url` (or env `SPLUNK_HEC_URL`) may be the base, e.g. https://splunk:8088; `token` (or env
    `SPLUNK_HEC_TOKEN`) is sent as `Authorization: Splunk <token>`. `host` defaults to this machine's
    name; `index` and `source` are left to the token's defaults when None. A self-signed Splunk
    needs `verify=` a CA bundle path (or False)."""

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        index: str | None = None,
        source: str | None = None,
        sourcetype: str | None = "_json",
        host: str | None = None,
        environ: Mapping[str, str] | None = None,
        **options: Unpack[ShipperOptions],
    ) -> None:
        env = os.environ if environ is None else environ
        url = url or env.get("SPLUNK_HEC_URL") or None
        token = token or env.get("SPLUNK_HEC_TOKEN") or None
        if not url or not token:
            missing = " and ".join(name for name, value in (("url", url), ("token", token)) if not value)
            raise ValueError(
                f"SplunkHECHandler: no {missing}; pass url= and token=, "
                "or set SPLUNK_HEC_URL and SPLUNK_HEC_TOKEN"
            )
        if any(c.isspace() for c in token):
            raise BadDestination("SplunkHECHandler: the token must not contain whitespace", "token")
        options.setdefault("max_batch_bytes", SPLUNK_BATCH_BYTES)
        options.setdefault("max_event_bytes", options["max_batch_bytes"])
        super().__init__(event_url(url), secrets=(token,), **options)
        self._token = token
        fixed = {
            "host": host or socket.gethostname(),
            "source": source,
            "sourcetype": sourcetype,
            "index": index,
        }
        # Everything but the time and the event is the same for every envelope: encode it once.
        self._fixed = "".join(f"{json.dumps(k)}:{json.dumps(v)}," for k, v in fixed.items() if v is not None)

    def headers(self) -> Mapping[str, str]:
        return {"Authorization": f"Splunk {self._token}", "content-type": "application/json"}

    def encode_event(self, record: logging.LogRecord) -> bytes:
        text = self.format(record)
        # JSON output goes in as an object (searchable fields); anything else as a string.
        event = text if is_json_formatter(self.formatter) else json.dumps(text)
        return f'{{"time":{record.created:.3f},{self._fixed}"event":{event}}}'.encode("utf-8", "replace")


def event_url(url: str) -> str:
    """The event endpoint from a base URL: the path is completed unless it already names the endpoint."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url  # the base class reports it
    path = parts.path.rstrip("/")
    if path.endswith(EVENT_PATH):
        return url
    if path.endswith("/services/collector/raw"):
        raise BadDestination(
            "SplunkHECHandler: /raw takes another format; give the base URL or /event", "url"
        )
    path = path + "/event" if path.endswith("/services/collector") else path + EVENT_PATH
    return urlunsplit(parts._replace(path=path))
