"""The shippers an environment asks for, built (and so checked) at start-up."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Unpack

from .base import BadDestination, BatchingHTTPHandler, ShipperOptions
from .loggly import LogglyHandler
from .splunk import SplunkHECHandler

__all__ = ["handlers_from_env"]


def handlers_from_env(
    environ: Mapping[str, str] | None = None, **options: Unpack[ShipperOptions]
) -> list[BatchingHTTPHandler]:
    """Loggly when `LOGGLY_TOKEN` or `LOGGLY_URL` is set; Splunk when `SPLUNK_HEC_URL` and `SPLUNK_HEC_TOKEN`
    are. Empty values count as unset. A half or invalid configuration raises ValueError with one line
    that names the variable, never its value. `options` go to every handler built."""
    # Not a default of os.environ: help() prints defaults, and the environment holds the tokens.
    environ = os.environ if environ is None else environ
    handlers: list[BatchingHTTPHandler] = []
    if environ.get("LOGGLY_TOKEN") or environ.get("LOGGLY_URL"):
        source = "LOGGLY_URL" if environ.get("LOGGLY_URL") else "LOGGLY_TOKEN"  # the one the handler reads
        variables = {"url": source, "token": source}
        handlers.append(_named(variables, lambda: LogglyHandler(environ=environ, **options)))
    url, token = environ.get("SPLUNK_HEC_URL"), environ.get("SPLUNK_HEC_TOKEN")
    if url or token:
        if not (url and token):
            missing = "SPLUNK_HEC_TOKEN" if url else "SPLUNK_HEC_URL"
            raise ValueError(
                f"{missing} is not set; shipping to Splunk needs SPLUNK_HEC_URL and SPLUNK_HEC_TOKEN"
            )
        variables = {"url": "SPLUNK_HEC_URL", "token": "SPLUNK_HEC_TOKEN"}
        handlers.append(_named(variables, lambda: SplunkHECHandler(environ=environ, **options)))
    return handlers


def _named(variables: Mapping[str, str], build: Callable[[], BatchingHTTPHandler]) -> BatchingHTTPHandler:
    """``build()``, an error about its destination led by the variable it came from (``variables``: the
    variable of each part), so the one line says what to fix. An error in ``options`` is the caller's."""
    try:
        return build()
    except BadDestination as exc:
        raise ValueError(f"{variables[exc.part]}: {exc}") from None
