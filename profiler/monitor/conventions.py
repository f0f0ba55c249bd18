"""The OpenTelemetry semantic conventions the metrics, spans and error records follow, in one place.

GenAI client conventions as published in the OpenTelemetry GenAI semantic conventions
(``docs/gen-ai/gen-ai-metrics.md`` and ``client-inference.md`` of
open-telemetry/semantic-conventions-genai, where they moved after semantic-conventions
v1.41; status Development), matching the names of ``opentelemetry-semantic-conventions``
0.66b2 (schema 1.44.0): the four client metrics ``gen_ai.client.operation.duration``,
``gen_ai.client.token.usage``, ``gen_ai.client.operation.time_to_first_chunk`` and
``gen_ai.client.operation.time_per_output_chunk``, the three duration ones with the same
advisory buckets. HTTP server metrics follow the stable HTTP conventions.
"""

from __future__ import annotations

GENAI_CONVENTIONS = "OpenTelemetry GenAI semantic conventions (semantic-conventions-genai; schema 1.44.0)"
SCHEMA_URL = "https://opentelemetry.io/schemas/1.44.0"

# gen_ai.provider.name for calls made with the openai SDK (the conventions' well-known value).
PROVIDER = "openai"

# Advisory buckets of gen_ai.client.operation.duration, .time_to_first_chunk and .time_per_output_chunk.
DURATION_BUCKETS: tuple[float, ...] = (
    0.01,
    0.02,
    0.04,
    0.08,
    0.16,
    0.32,
    0.64,
    1.28,
    2.56,
    5.12,
    10.24,
    20.48,
    40.96,
    81.92,
)
# Advisory buckets of gen_ai.client.token.usage.
TOKEN_USAGE_BUCKETS: tuple[int, ...] = (
    1,
    4,
    16,
    64,
    256,
    1024,
    4096,
    16384,
    65536,
    262144,
    1048576,
    4194304,
    16777216,
    67108864,
)
# Advisory buckets of http.server.request.duration (HTTP semantic conventions, stable).
HTTP_DURATION_BUCKETS: tuple[float, ...] = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.075,
    0.1,
    0.25,
    0.5,
    0.75,
    1.0,
    2.5,
    5.0,
    7.5,
    10.0,
)
