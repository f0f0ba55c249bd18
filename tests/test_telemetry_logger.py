"""The error logger a Telemetry writes to: a level the app chose is kept, an unset one lets warnings out."""

from __future__ import annotations

import logging

from profiler.monitor.metrics import ServiceMetrics
from profiler.monitor.telemetry import Telemetry


def test_a_level_the_app_set_is_kept_and_an_unset_one_lets_warnings_out() -> None:
    chosen = logging.getLogger("profiler.errors.test-chosen")
    chosen.setLevel(logging.ERROR)  # the app wants no attempt_failed warnings
    unset = logging.getLogger("profiler.errors.test-unset")
    for logger in (chosen, unset):
        Telemetry(metrics=ServiceMetrics(), error_stream=None, logger=logger, background=False).close()
    assert chosen.level == logging.ERROR
    assert unset.isEnabledFor(logging.WARNING)


def test_two_telemetries_on_one_stream_write_each_record_once_and_close_detaches() -> None:
    import io

    stream = io.StringIO()
    logger = logging.getLogger("profiler.errors.test-two")
    first = Telemetry(metrics=ServiceMetrics(), error_stream=stream, logger=logger, background=False)
    second = Telemetry(metrics=ServiceMetrics(), error_stream=stream, logger=logger, background=False)
    logger.error("one record")
    assert stream.getvalue().count("one record") == 1
    other = io.StringIO()
    third = Telemetry(metrics=ServiceMetrics(), error_stream=other, logger=logger, background=False)
    for telemetry in (third, second, first):
        telemetry.close()
    assert logger.handlers == []  # nothing left behind for the next telemetry to write through


def test_a_shared_handler_stays_until_the_last_telemetry_on_it_closes() -> None:
    import io

    stream = io.StringIO()
    logger = logging.getLogger("profiler.errors.test-shared")
    app_handler = logging.StreamHandler(io.StringIO())
    logger.addHandler(app_handler)  # the app's own: no telemetry takes it off
    first = Telemetry(metrics=ServiceMetrics(), error_stream=stream, logger=logger, background=False)
    second = Telemetry(
        metrics=ServiceMetrics(), error_stream=stream, logger=logger, background=False,
        log_handlers=[app_handler],
    )  # fmt: skip
    first.close()
    logger.error("after the first closed")
    assert stream.getvalue().count("after the first closed") == 1, "the second still writes"
    second.close()
    logger.error("after both closed")
    assert "after both closed" not in stream.getvalue()
    assert logger.handlers == [app_handler]
    logger.removeHandler(app_handler)
