"""`switchboard webhooks listen`: a local receiver that prints what Switchboard delivers — webhook events
(verified with their signing secret) and Slack messages — so the notifications can be seen working without a
public URL. Registered on the app of `cli.py` (which imports this module last)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

import typer

from switchboard.cli import app

webhooks_app = typer.Typer(help="See webhook deliveries locally.", no_args_is_help=True)
app.add_typer(webhooks_app, name="webhooks")


@webhooks_app.command()
def listen(
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 9000,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    secret: Annotated[
        str | None, typer.Option(envvar="SWITCHBOARD_WEBHOOK_SECRET", help="Verify signatures with this whsec_….")
    ] = None,
    register: Annotated[
        bool, typer.Option("--register", help="Register this listener as a webhook endpoint first (needs --key).")
    ] = False,
    url: Annotated[
        str, typer.Option(envvar="SWITCHBOARD_URL", help="The server's base URL (for --register).")
    ] = "http://127.0.0.1:8000",
    key: Annotated[str, typer.Option(envvar="SWITCHBOARD_API_KEY", help="Your API key (for --register).")] = "",
    fail: Annotated[int, typer.Option(help="Answer 503 to the first N requests, to watch the retries.")] = 0,
) -> None:
    """Print every delivery this receives, verified; answer 200 (or 503 for the first --fail N).

    The server refuses loopback URLs unless it runs with SWITCHBOARD_ALLOW_PRIVATE_URLS=true (development).
    """
    import uvicorn
    from standardwebhooks import Webhook, WebhookVerificationError
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    if register:
        secret = _register(url, key, f"http://{host}:{port}/")
    verifier = Webhook(secret) if secret else None
    failures = {"left": fail}

    async def receive(request: Request) -> PlainTextResponse:
        body = await request.body()
        headers = dict(request.headers)
        at = datetime.now().strftime("%H:%M:%S.%f")[:-3]
        if "webhook-id" not in headers:  # a Slack message (or anything else): its text
            text = _field(body, "text")
            typer.echo(f"{at}  {request.url.path}  {text or body[:200]!r}")
        else:
            if verifier is None:
                check = "signature not checked (give --secret)"
            else:
                try:
                    verifier.verify(body, headers)
                    check = "signature ok"
                except WebhookVerificationError as exc:
                    check = f"SIGNATURE INVALID ({exc})"
            event = json.loads(body) if body.startswith(b"{") else {}
            run = event.get("data") or {}
            typer.echo(
                f"{at}  {headers['webhook-id']}  {event.get('type')}  run {run.get('id')} "
                f"({run.get('agent')}, {run.get('status')})  {check}"
            )
        if failures["left"] > 0:
            failures["left"] -= 1
            return PlainTextResponse("failing on purpose (--fail)", status_code=503)
        return PlainTextResponse("ok")

    listener = Starlette(routes=[Route("/{path:path}", receive, methods=["POST"])])
    typer.echo(f"listening on http://{host}:{port}/ (Ctrl+C to stop)", err=True)
    uvicorn.run(listener, host=host, port=port, log_level="warning")


def _field(body: bytes, name: str) -> str | None:
    try:
        value = json.loads(body).get(name)
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


def _register(url: str, key: str, listener: str) -> str:
    import httpx

    if not key:
        typer.echo("error: --register needs --key or SWITCHBOARD_API_KEY", err=True)
        raise typer.Exit(2)
    try:
        response = httpx.post(
            f"{url}/v1/webhooks",
            json={"url": listener, "description": "switchboard webhooks listen"},
            headers={"Authorization": f"Bearer {key}"},
            timeout=10,
        )
    except httpx.ConnectError:
        typer.echo(f"error: no Switchboard server is running at {url}", err=True)
        raise typer.Exit(1) from None
    if response.status_code != 201:
        typer.echo(f"error: {response.json().get('error', {}).get('message', response.text)}", err=True)
        raise typer.Exit(1)
    endpoint = response.json()
    typer.echo(f"registered webhook endpoint {endpoint['id']} -> {listener}", err=True)
    secret: str = endpoint["secret"]
    return secret
