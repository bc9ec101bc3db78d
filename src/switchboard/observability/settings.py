"""Metrics and tracing settings (part of `switchboard.settings.Settings`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings

from switchboard.kit.setting_types import BlankIsUnset


class TelemetrySettings(BaseSettings):
    metrics_token: Annotated[SecretStr | None, BlankIsUnset] = Field(
        default=None,
        description="The bearer token Prometheus sends to scrape GET /metrics (admin API keys may scrape too). "
        "Unset: only admin keys.",
    )
    metrics_dir: Annotated[Path | None, BlankIsUnset] = Field(
        default=None,
        description="A directory for prometheus-client's multiprocess mode: every `switchboard serve` and "
        "`switchboard worker` on this host with the same directory adds its counters there, and any server's "
        "/metrics reports their sum. Unset: each process reports only its own.",
    )
    otel_endpoint: Annotated[str | None, BlankIsUnset] = Field(
        default=None,
        description="OTLP/HTTP endpoint of an OpenTelemetry collector (e.g. http://localhost:4318; /v1/traces is "
        "added unless the URL has a path): traces of requests, runs, model and tool calls, database statements. "
        "Unset: no tracing, at no cost.",
    )
    otel_service_name: str = Field(default="switchboard", description="`service.name` of the traces.")
    otel_capture_content: bool = Field(
        default=False,
        description="Put prompts, replies and tool arguments and results in the model and tool spans. Off: only "
        "their sizes, models, token counts and timings.",
    )
    otel_sample_ratio: float = Field(
        default=1.0,
        ge=0.0,
        le=1.0,
        description="The share of traces recorded (a run's spans follow the request that created it).",
    )
