"""Log shipping to Loggly and Splunk HEC: `logging` handlers that never block or raise in the caller.

    import logging
    from profiler.monitor.shipping import handlers_from_env

    for handler in handlers_from_env():      # LOGGLY_TOKEN, SPLUNK_HEC_URL + SPLUNK_HEC_TOKEN
        handler.setLevel(logging.ERROR)
        logging.getLogger().addHandler(handler)

Each handler counts every record it is given exactly once, as sent or as
dropped with a reason: `handler.stats()`. See docs/log-shipping.md.
"""

from ._format import ShippingJsonFormatter
from .base import BatchingHTTPHandler, ShipperOptions
from .environment import handlers_from_env
from .loggly import HTTPSHandler, LogglyHandler
from .splunk import SplunkHECHandler
from .stats import DROP_REASONS, ShipperStats

__all__ = [
    "DROP_REASONS",
    "BatchingHTTPHandler",
    "HTTPSHandler",
    "LogglyHandler",
    "ShipperOptions",
    "ShipperStats",
    "ShippingJsonFormatter",
    "SplunkHECHandler",
    "handlers_from_env",
]
