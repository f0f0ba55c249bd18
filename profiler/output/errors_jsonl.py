"""``errors.jsonl``: one JSON record per failed attempt and per failed call, also to the shippers.

The records go through a logger of this run's own (not one of the process's
named loggers), so writing them never touches the logging set-up of the
program being profiled — a Flask app using ``profiler.errors`` included.
"""

from __future__ import annotations

import logging
from pathlib import Path

from profiler.monitor.error_log import ERROR_LOGGER, json_handler, log_call_errors
from profiler.output.context import OutputContext
from profiler.runs import Run


def write(run: Run, context: OutputContext) -> dict[str, Path]:
    failed = [c for c in run.calls if not c.interrupted and (c.attempt_errors or not c.ok)]
    if not failed:
        return {}
    path = context.directory / "errors.jsonl"
    logger = logging.Logger(ERROR_LOGGER, logging.INFO)  # private: never registered with logging
    file_handler = json_handler(path)
    for handler in (file_handler, *context.log_handlers):
        logger.addHandler(handler)
    try:
        for call in failed:
            log_call_errors(call, logger)
    finally:
        file_handler.close()
    return {"errors": path}
