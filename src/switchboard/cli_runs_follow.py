"""`switchboard runs follow`: a run's events (`GET /v1/runs/{id}/events`, server-sent) until its `end`. The text
goes to stdout as it streams; tool calls, results and progress (steps, tokens, elapsed) to stderr — on a terminal
as one status line redrawn in place, otherwise as plain lines. A dropped connection is resumed after the last
event seen (`Last-Event-ID`), so nothing is printed twice."""

from __future__ import annotations

import json
import sys
import threading
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import typer

from switchboard.cli_http import Api, ApiError, error_of
from switchboard.cli_runs import call_text, instant
from switchboard.kit.sse import parse_sse

RECONNECTS = 5  # in a row without an event in between; then the command gives up
RECONNECT_DELAY_SECONDS = 1.0


class Follower:
    def __init__(self, client: Api, run: dict[str, Any]) -> None:
        self.client = client
        self.run_id = run["id"]
        self.last_id: str | None = None
        self.steps = 0
        self.tokens = 0
        # Elapsed counts from the run's start (or creation), as far as the server's clock says, not from ours.
        since = run.get("started_at") or run["created_at"]
        self.started = time.monotonic() - max(0.0, (datetime.now(UTC) - instant(since)).total_seconds())
        self.live = sys.stderr.isatty()  # a status line redrawn in place; else plain progress lines
        self.status_shown = False
        self.mid_line = False  # the streamed text has not ended its line: no status line until it does
        self.elapsed: float | None = None  # once the run ended: its duration
        self.lock = threading.Lock()  # the events and the ticker below write to the same screen
        self.done = threading.Event()

    def tick(self) -> None:
        """Redraw the status line twice a second, so that elapsed time moves while the run is quiet."""
        while not self.done.wait(0.5):
            with self.lock:
                if self.live:
                    self.clear_status()
                    self.draw_status()

    def follow(self) -> dict[str, Any]:
        """Print the events until `end`; returns its data (`{status, output, error, usage}`)."""
        if self.live:
            threading.Thread(target=self.tick, daemon=True).start()
        try:
            return self.follow_until_end()
        finally:
            self.done.set()

    def follow_until_end(self) -> dict[str, Any]:
        failures = 0
        while True:
            before = self.last_id
            try:
                end = self.stream()
            except httpx.TransportError as exc:
                failures = 1 if self.last_id != before else failures + 1
                if failures > RECONNECTS:
                    raise ApiError(f"lost the connection to the server ({exc}) and could not resume") from None
                with self.lock:
                    self.note(f"[connection lost ({exc.__class__.__name__}); resuming after event {self.last_id or 0}]")
                time.sleep(RECONNECT_DELAY_SECONDS)
                continue
            if end is not None:
                with self.lock:
                    self.finish(end)
                return end
            # The stream closed without `end` (a server restarting): resume after the last event.
            failures = 1 if self.last_id != before else failures + 1
            if failures > RECONNECTS:
                raise ApiError("the server keeps closing the event stream before the run ends")
            time.sleep(RECONNECT_DELAY_SECONDS)

    def stream(self) -> dict[str, Any] | None:
        headers = {"Accept": "text/event-stream", **({"Last-Event-ID": self.last_id} if self.last_id else {})}
        with self.client.client.stream("GET", f"/v1/runs/{self.run_id}/events", headers=headers) as response:
            if response.status_code >= 400:
                response.read()
                raise error_of(response)
            for event in parse_sse(response.iter_lines()):
                if event.id is not None:
                    self.last_id = event.id
                data = json.loads(event.data)
                if event.event == "end":
                    return dict(data)
                with self.lock:
                    self.on_event(event.event, data)
        return None

    def on_event(self, kind: str, data: dict[str, Any]) -> None:
        if kind == "text_delta":
            self.text(data["delta"])
        elif kind == "tool_call":
            self.note(f"[tool {call_text(data['tool_name'], data.get('args'))}]")
        elif kind == "tool_result":
            self.steps += 1
            result = data.get("result")
            shown = result if isinstance(result, str) else json.dumps(result, ensure_ascii=False, default=str)
            self.note(f"[result {data['tool_name']}: {shorten(shown)}]")
            self.progress()
        elif kind == "message" and data.get("kind") == "response":
            self.steps += 1
            usage = data.get("message", {}).get("usage") or {}
            self.tokens += int(usage.get("input_tokens") or 0) + int(usage.get("output_tokens") or 0)
            self.progress()
        elif kind == "status":
            self.note(f"[{data['status']}{' (' + data['reason'] + ')' if data.get('reason') else ''}]")
        elif kind == "approval_required":
            for call in data.get("calls", []):
                self.note(
                    f"[waiting for approval: {call_text(call['tool_name'], call.get('args'))}; "
                    f"switchboard runs approve|deny {self.run_id} --call {call['tool_call_id']}]"
                )
        elif kind == "retry":
            self.note(f"[{data.get('error', {}).get('message', 'model error')}; retrying, the text starts again]")
        elif "run_id" in data and "step" in data:  # a child run started or finished
            self.note(f"[child {data['step']}: {data.get('agent')} {data.get('status')} {data['run_id']}]")

    def finish(self, end: dict[str, Any]) -> None:
        usage = end.get("usage") or {}
        if usage:  # the run's own count, which includes what streamed before we connected
            self.steps = int(usage.get("requests", 0)) + int(usage.get("tool_calls", 0))
            self.tokens = int(usage.get("input_tokens", 0)) + int(usage.get("output_tokens", 0))
        if self.mid_line:
            typer.echo("")
            self.mid_line = False
        run = self.client.get(f"/v1/runs/{self.run_id}")  # the run's own duration, however late we came
        if run.get("started_at") and run.get("finished_at"):
            self.elapsed = (instant(run["finished_at"]) - instant(run["started_at"])).total_seconds()
        self.live = False  # the last progress stays on the screen as a plain line
        self.clear_status()
        self.progress(f" · {end.get('status')}")

    def text(self, delta: str) -> None:
        self.clear_status()
        typer.echo(delta, nl=False)
        sys.stdout.flush()
        self.mid_line = not delta.endswith("\n")

    def note(self, line: str) -> None:
        self.clear_status()
        if self.mid_line and sys.stdout.isatty():  # the same screen: the note starts on its own line
            typer.echo("")
            self.mid_line = False
        typer.echo(line, err=True)
        self.draw_status()

    def progress(self, suffix: str = "") -> None:
        if self.live:
            self.clear_status()
            self.draw_status()
        else:
            typer.echo(f"[progress] {self.progress_text()}{suffix}", err=True)

    def progress_text(self) -> str:
        elapsed = time.monotonic() - self.started if self.elapsed is None else self.elapsed
        return f"steps {self.steps} · tokens {self.tokens:,} · {elapsed:.1f}s"

    def draw_status(self) -> None:
        if self.live and not (self.mid_line and sys.stdout.isatty()):
            sys.stderr.write(f"\r\x1b[K… {self.progress_text()}")
            sys.stderr.flush()
            self.status_shown = True

    def clear_status(self) -> None:
        if self.status_shown:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()
            self.status_shown = False


def shorten(text: str, width: int = 160) -> str:
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= width else one_line[: width - 1] + "…"
