"""Every Prometheus metric Switchboard exports, in one place; `GET /metrics` serves them (`observability.scrape`).

Counters and histograms are per process; with several processes (`switchboard serve` plus workers) they are
summed through prometheus-client's multiprocess mode (`PROMETHEUS_MULTIPROC_DIR`, set by `switchboard serve` and
`switchboard worker` before this module is imported). What the database knows (queue depth, the oldest queued
run's age) is read at scrape time instead, so it is right whatever process answers.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import Counter, Histogram

_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
_RUN_SECONDS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)

HTTP_REQUESTS = Counter(
    "switchboard_http_requests_total",
    "HTTP requests, by method, route template and status.",
    ["method", "route", "status"],
)
HTTP_SECONDS = Histogram(
    "switchboard_http_request_duration_seconds",
    "HTTP request duration until the response starts, by method and route template.",
    ["method", "route"],
    buckets=_SECONDS,
)
RUNS_CREATED = Counter("switchboard_runs_created_total", "Runs created, by agent.", ["agent"])
RUNS_SETTLED = Counter(
    "switchboard_runs_settled_total", "Runs that reached a final status, by agent and status.", ["agent", "status"]
)
RUN_SECONDS = Histogram(
    "switchboard_run_duration_seconds",
    "From a run's creation to its final status, by agent and status.",
    ["agent", "status"],
    buckets=_RUN_SECONDS,
)
MODEL_REQUESTS = Counter(
    "switchboard_model_requests_total", "Model requests answered, by agent and model.", ["agent", "model"]
)
MODEL_TOKENS = Counter(
    "switchboard_model_tokens_total",
    "Model tokens, by agent, model and type (input, output, cache_read, cache_write).",
    ["agent", "model", "type"],
)
MODEL_COST = Counter(
    "switchboard_model_cost_usd_total",
    "Cost of model requests in USD, by agent and model (models without a known price add nothing).",
    ["agent", "model"],
)
TOOL_CALLS = Counter(
    "switchboard_tool_calls_total",
    "Tool calls executed, by tool and outcome (ok, error, timeout, denied).",
    ["tool", "outcome"],
)
TOOL_SECONDS = Histogram(
    "switchboard_tool_call_duration_seconds", "Tool call duration, by tool.", ["tool"], buckets=_SECONDS
)
INPUT_SCREENED = Counter(
    "switchboard_input_screened_total",
    "Run inputs the input screen matched, by agent and outcome (flagged, blocked).",
    ["agent", "outcome"],
)
RATE_LIMITED = Counter(
    "switchboard_rate_limited_total",
    "Requests and model calls refused or held by a rate limit, by limit (rpm, tpm, concurrent_runs, auth_failures, "
    "trigger_ingest).",
    ["limit"],
)
BUDGET_REJECTIONS = Counter(
    "switchboard_budget_rejections_total",
    "Runs refused or stopped by a cost budget, by budget (user, agent, api_key, run) and when (start, mid_run).",
    ["budget", "when"],
)
WEBHOOK_DELIVERIES = Counter(
    "switchboard_webhook_deliveries_total",
    "Delivery attempts of notifications, by channel (webhook, email, slack) and outcome (delivered, failed, dead).",
    ["channel", "outcome"],
)


@dataclass(frozen=True)
class ScrapeGauge:
    """A gauge no process keeps: read from the database at each scrape (`observability.scrape`), so it is right
    whichever process answers and whatever processes are running."""

    name: str
    documentation: str
    labels: tuple[str, ...]


QUEUE_DEPTH = ScrapeGauge(
    "switchboard_queue_depth", "Queued runs, by agent (read from the database at scrape time).", ("agent",)
)
QUEUE_OLDEST_SECONDS = ScrapeGauge(
    "switchboard_queue_oldest_age_seconds",
    "Seconds the oldest queued run of each agent has waited in the queue (0: none queued; read at scrape time).",
    ("agent",),
)
