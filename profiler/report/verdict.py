"""The one-sentence verdict: which part of the run's wall time is to blame."""

from __future__ import annotations

from typing import Any


def _server_share(summary: dict[str, Any]) -> float:
    """The part of network time that was the server thinking (server_wait over all network phases)."""
    breakdown = summary["breakdown_ms"]
    network = breakdown["network"]["total"]
    return breakdown["server_wait"]["total"] / network if network else 0.0


def verdict(summary: dict[str, Any]) -> str:
    wall = summary["wall_s"]
    requests = summary["requests"]
    if requests["started"] == 0 or wall <= 0:
        return "no request was made."
    split = summary["split_s"]
    network, backoff, local = (split[k] / wall for k in ("network", "backoff", "local"))
    server = network * _server_share(summary)
    hotspot = summary.get("attribution", {}).get("top_local")
    where = f", most of it in {hotspot}" if hotspot else ""
    parts = []
    if backoff >= max(network, local):
        parts.append(f"{backoff:.0%} of wall time was retry back-off (the SDK sleeping after failures)")
        parts.append(f"network {network:.0%}; local processing {local:.0%}{where}")
    elif network >= local:
        if server >= network * 0.6:
            parts.append(
                f"{network:.0%} of wall time was waiting on the network, {server:.0%} of it on the server"
            )
        else:
            parts.append(f"{network:.0%} of wall time was network (the server only {server:.0%})")
        parts.append(f"local processing {local:.0%}{where}")
    else:
        parts.append(f"{local:.0%} of wall time was local processing{where}")
        parts.append(f"waiting on the network {network:.0%}")
    if summary["error_rate"] > 0:
        parts.append(f"{summary['error_rate']:.0%} of requests failed")
    return "; ".join(parts) + "."
