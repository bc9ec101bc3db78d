"""`switchboard chat`: one message and its streamed reply, or, given none, a conversation on one thread: each
reply streamed, its tool calls and their results on their own lines, and a y/n question for each tool call that
waits for a person's approval, after which the resumed run is followed to its end.

Registered on the app of `cli.py` (which imports this module last); httpx is imported only when a command runs."""

from __future__ import annotations

import contextlib
import json
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from switchboard.cli import app
from switchboard.cli_http import DEFAULT_URL, KeyOption, UrlOption

if TYPE_CHECKING:
    from switchboard.chat.client import StreamEvent
    from switchboard.cli_http import Api

COMMANDS = "/new starts a new thread, /thread prints its id, /quit (or Ctrl-D) ends; Ctrl-C stops waiting for a reply."
RESULT_CHARS = 100  # a tool's result is shown cut to this: the agent's reply says what matters in it


@app.command()
def chat(
    message: Annotated[
        str | None, typer.Argument(help="What to say to the agent. Leave it out to talk turn by turn.")
    ] = None,
    agent: Annotated[str, typer.Option(help="The agent to talk to.")] = "support",
    thread: Annotated[
        str | None,
        typer.Option(help="Continue this thread id (printed after a one-off reply; /thread in a conversation)."),
    ] = None,
    context: Annotated[
        str | None,
        typer.Option(
            help='The thread\'s context as a JSON object, e.g. \'{"page": "orders/3"}\' (what a sidekick agent '
            "knows of where the user is), sent with the first message."
        ),
    ] = None,
    url: UrlOption = DEFAULT_URL,
    key: KeyOption = "",
) -> None:
    """Talk to an agent on a running server; replies stream to stdout.

    With no MESSAGE: a conversation on one thread, its tool calls shown, and a y/n question when one needs approval.

    In it, /new starts a new thread, /thread prints its id, /quit or Ctrl-D ends.
    """
    if not key:
        typer.echo("error: give --key or set SWITCHBOARD_API_KEY", err=True)
        raise typer.Exit(2)
    thread_context = _parse_context(context)
    if message is not None:
        _one_shot(url, key, agent, message, thread, thread_context)
        return
    from switchboard.cli_http import Api

    api = Api(url, key)
    try:
        Conversation(api, key, agent, thread, thread_context).run()
    finally:
        api.close()


def _parse_context(context: str | None) -> dict[str, Any] | None:
    if context is None:
        return None
    try:
        value = json.loads(context)
    except ValueError as exc:
        typer.echo(f"error: --context is not JSON: {exc}", err=True)
        raise typer.Exit(2) from None
    if not isinstance(value, dict):
        typer.echo("error: --context must be a JSON object", err=True)
        raise typer.Exit(2)
    return value


def _one_shot(url: str, key: str, agent: str, message: str, thread: str | None, context: dict[str, Any] | None) -> None:
    import httpx

    from switchboard.chat.client import ChatClientError, stream_turn

    def show(event: StreamEvent) -> None:
        if event.event == "text_delta":
            typer.echo(event.data["delta"], nl=False)
        elif event.event == "tool_call":
            typer.echo(f"[tool {event.data['tool_name']}({event.data['args']})]", err=True)
        elif event.event == "retry":  # the text since the last tool result is void: it streams again
            typer.echo(f"\n[{event.data['error']['message']} Retrying; the reply starts again.]", err=True)

    body = _turn_body(agent, message, thread, context)
    try:
        done = stream_turn(url, key, body, show)
    except httpx.ConnectError:
        typer.echo(f"error: no Switchboard server is running at {url} (start one with `switchboard serve`)", err=True)
        raise typer.Exit(1) from None
    except (ChatClientError, httpx.HTTPError) as exc:
        typer.echo(f"\nerror: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo("")
    typer.echo(f"[thread {done['thread_id']} · model {done['model']}]", err=True)


def _turn_body(agent: str, message: str, thread: str | None, context: dict[str, Any] | None) -> dict[str, Any]:
    body: dict[str, Any] = {"agent": agent, "message": message}
    if thread:
        body["thread_id"] = thread
    if context is not None:
        body["context"] = context
    return body


def _short(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    text = " ".join(text.split())
    return text if len(text) <= RESULT_CHARS else text[: RESULT_CHARS - 1] + "…"


def _call(tool_name: str, args: object) -> str:
    return f"{tool_name}({json.dumps(args, ensure_ascii=False, default=str)})"


class Transcript:
    """Writes a run's events as they stream: text as it comes, each tool call and result on its own line."""

    def __init__(self, shown_calls: frozenset[str] = frozenset()) -> None:
        self.mid_line = False  # text was written without its line ending yet
        self.wrote_text = False
        self.shown_calls = shown_calls  # tool calls already shown (before their approval): not shown again

    def show(self, event: StreamEvent) -> None:
        data = event.data
        if event.event == "text_delta":
            typer.echo(data["delta"], nl=False)
            self.mid_line = not data["delta"].endswith("\n")
            self.wrote_text = True
        elif event.event == "tool_call" and data.get("tool_call_id") not in self.shown_calls:
            self.line(f"  → {_call(data['tool_name'], data['args'])}")
        elif event.event == "tool_result":
            self.line(f"  ← {data['tool_name']}: {_short(data.get('result'))}")
        elif event.event == "retry":  # the text since the last tool result is void: it streams again
            self.line(f"  [{data['error']['message']} Retrying; the reply starts again.]")

    def line(self, text: str) -> None:
        self.finish()
        typer.echo(text)

    def finish(self) -> None:
        if self.mid_line:
            typer.echo("")
            self.mid_line = False


class Conversation:
    """The REPL: one thread, a turn per line read (from a terminal, or piped), approvals asked for as y/n."""

    def __init__(self, api: Api, key: str, agent: str, thread: str | None, context: dict[str, Any] | None) -> None:
        self.api, self.key, self.agent, self.thread = api, key, agent, thread
        self.context = context
        self.context_unsent = context is not None  # sent with a thread's first turn
        self.interactive = sys.stdin.isatty()
        self.ended = False  # stdin is at its end (Ctrl-D, or the piped input ran out)

    def read(self, prompt: str) -> str | None:
        """The next line, or None at the end of the input."""
        if self.interactive:
            try:
                return input(prompt)
            except EOFError:
                typer.echo("")
                self.ended = True
                return None
        line = sys.stdin.readline()
        if not line:
            self.ended = True
            return None
        return line.rstrip("\n")

    def run(self) -> None:
        if self.interactive:
            with contextlib.suppress(ImportError):  # line editing and history for input(), where there is one
                import readline  # noqa: F401
            typer.echo(f"Talking to {self.agent} at {self.api.url}. {COMMANDS}", err=True)
        while not self.ended:
            try:
                line = self.read("you> ")
            except KeyboardInterrupt:  # at the prompt: a fresh prompt, as in Python's REPL
                typer.echo("")
                continue
            if line is None or line.strip() == "/quit":
                return
            self.command(line.strip())

    def command(self, line: str) -> None:
        if not line:
            return
        if line == "/new":
            self.thread = None
            self.context_unsent = self.context is not None
            typer.echo("[a new thread starts with your next message]")
        elif line == "/thread":
            typer.echo(self.thread or "[no thread yet: it starts with your first message]")
        elif line.startswith("/"):
            typer.echo(f"error: unknown command {line.split()[0]}: {COMMANDS}", err=True)
        else:
            self.turn(line)

    def turn(self, message: str) -> None:
        import httpx

        from switchboard.chat.client import ChatClientError, stream_turn
        from switchboard.cli_http import ApiError

        transcript = Transcript()
        run_id: str | None = None

        def show(event: StreamEvent) -> None:
            nonlocal run_id
            if event.event == "thread":
                self.thread, run_id = event.data["thread_id"], event.data["run_id"]
            transcript.show(event)

        context = self.context if self.context_unsent else None
        try:
            done = stream_turn(self.api.url, self.key, _turn_body(self.agent, message, self.thread, context), show)
            self.context_unsent = False
            transcript.finish()
            if not transcript.wrote_text and done["status"] == "succeeded":
                typer.echo(done["reply"])
            self.thread, run_id = done["thread_id"], done["run_id"]
            if done["pending_approvals"]:
                self.approvals(done["run_id"], done["pending_approvals"])
        except KeyboardInterrupt:
            transcript.finish()
            where = f": run {run_id} goes on (GET /v1/runs/{run_id})" if run_id else ""
            typer.echo(f"[stopped waiting{where}]", err=True)
        except httpx.ConnectError:
            transcript.finish()
            typer.echo(
                f"error: no Switchboard server is running at {self.api.url} (start one with `switchboard serve`)",
                err=True,
            )
        except ChatClientError as exc:
            transcript.finish()
            typer.echo(f"error: {exc.line}", err=True)
        except ApiError as exc:
            transcript.finish()
            typer.echo(f"error: {exc.message}", err=True)
        except httpx.HTTPError as exc:
            transcript.finish()
            typer.echo(f"error: {exc}", err=True)

    def approvals(self, run_id: str, pending: list[dict[str, Any]]) -> None:
        """Ask about each pending call, post the answers, follow the resumed run to its end (or next pause)."""
        from switchboard.chat.client import follow_run

        while pending:
            after = self.api.get(f"/v1/runs/{run_id}")["last_event_id"]
            for call in pending:
                answer = self.read_answer(f"Approve {_call(call['tool_name'], call['args'])}? [y/N] ")
                if answer is None:
                    typer.echo(f"[left undecided: run {run_id} waits for approval]", err=True)
                    return
                decision = _decision(call["tool_call_id"], answer)
                self.api.post(f"/v1/runs/{run_id}/approvals", decision)
            transcript = Transcript(frozenset(call["tool_call_id"] for call in pending))
            last = follow_run(self.api.url, self.key, run_id, after, transcript.show)
            transcript.finish()
            if last.event == "approval_required":
                pending = self.api.get(f"/v1/runs/{run_id}")["pending_approvals"]
                continue
            if last.data.get("status") != "succeeded":
                error = last.data.get("error") or {}
                typer.echo(f"error: the run {last.data.get('status')}: {error.get('message', '')}".rstrip(), err=True)
            elif not transcript.wrote_text and last.data.get("output"):
                typer.echo(_short(last.data["output"]))
            return

    def read_answer(self, question: str) -> str | None:
        if self.interactive:
            return self.read(question)
        typer.echo(question, nl=False)  # piped: the question and its answer, as a terminal would show them
        answer = self.read("")
        typer.echo(answer if answer is not None else "")
        return answer


def _decision(tool_call_id: str, answer: str) -> dict[str, Any]:
    """`y`/`yes` approves; anything else denies, and what follows `n ` is the reason (`n still in transit`)."""
    word, _, reason = answer.strip().partition(" ")
    approve = word.lower() in ("y", "yes")
    body: dict[str, Any] = {"tool_call_id": tool_call_id, "approve": approve}
    if not approve and reason.strip():
        body["reason"] = reason.strip()
    return body
