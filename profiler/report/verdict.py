"""The one-sentence verdict: which part of the run's wall time is to blame."""

from __future__ import annotations

from typing import Any

# Below this share, local time is too small to be worth naming a function for.
_NAME_HOTSPOT_FROM = 0.05


def _server_share(summary: dict[str, Any]) -> float:
    """The part of network time that was the server thinking (server_wait over all network phases)."""
    breakdown = summary["breakdown_ms"]
    network = breakdown["network"]["total"]
    return breakdown["server_wait"]["total"] / network if network else 0.0


def verdict(summary: dict[str, Any]) -> str:
    """Name the largest share of wall time, then the others, from ``split_s``."""
    wall = summary["wall_s"]
    if summary["requests"]["started"] == 0 or wall <= 0:
        return "no request was made."
    split = summary["split_s"]
    network, backoff, local = (split[k] / wall for k in ("network", "backoff", "local"))
    server = network * _server_share(summary)
    hotspot = summary.get("attribution", {}).get("top_local")
    local_text = f"local processing {local:.0%}"
    if hotspot and local >= _NAME_HOTSPOT_FROM:
        local_text += f", most of it in {hotspot}"
    network_text = f"waiting on the server {server:.0%} (network in all {network:.0%})"
    if backoff >= max(network, local):
        text = f"Retry back-off: {backoff:.0%} of wall time was the SDK sleeping after failures"
        text += f"; {network_text}; {local_text}"
    elif network >= local:
        if server >= network * 0.6:
            text = f"Waiting on the server: {server:.0%} of wall time (network in all {network:.0%})"
            text += f"; {local_text}"
        else:
            text = f"Network transfer: {network:.0%} of wall time, the server only {server:.0%}; {local_text}"
    else:
        text = f"Local processing: {local:.0%} of wall time"
        text += f", most of it in {hotspot}" if hotspot else ""
        text += f"; {network_text}"
    if backoff and not backoff >= max(network, local):
        text += f"; back-off {backoff:.0%}"
    if summary["error_rate"] > 0:
        text += f"; {summary['error_rate']:.0%} of requests failed"
    return text + "."
