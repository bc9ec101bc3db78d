"""`switchboard webhooks listen`: a local receiver that prints what Switchboard delivers — webhook events
(verified with their signing secret) and Slack messages — so the notifications can be seen working without a
public URL. Registered on the app of `cli.py` (which imports this module last)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

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
            event = _json_object(body)
            data = event.get("data")
            run: dict[str, Any] = data if isinstance(data, dict) else {}
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


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _field(body: bytes, name: str) -> str | None:
    value = _json_object(body).get(name)
    return value if isinstance(value, str) else None


def _register(url: str, key: str, listener: str) -> str:
    import httpx

    if not key:
        typer.echo("error: --register needs --key or SWITCHBOARD_API_KEY", err=True)
        raise typer.Exit(2)
    client = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=10)
    try:
        # Started again on the same address: the endpoint registered last time, with a new secret (and enabled,
        # had its failures disabled it while nothing listened), rather than one more endpoint each time.
        known = _checked(client.get("/v1/webhooks", params={"limit": 100})).json()["items"]
        same = [endpoint for endpoint in known if endpoint["url"] == listener]
        if same:
            endpoint_id = same[0]["id"]
            _checked(client.patch(f"/v1/webhooks/{endpoint_id}", json={"enabled": True}))
            endpoint = _checked(client.post(f"/v1/webhooks/{endpoint_id}/rotate-secret")).json()
            typer.echo(f"using webhook endpoint {endpoint_id} -> {listener} (its secret rotated)", err=True)
        else:
            body = {"url": listener, "description": "switchboard webhooks listen"}
            endpoint = _checked(client.post("/v1/webhooks", json=body)).json()
            typer.echo(f"registered webhook endpoint {endpoint['id']} -> {listener}", err=True)
    except httpx.ConnectError:
        typer.echo(f"error: no Switchboard server is running at {url}", err=True)
        raise typer.Exit(1) from None
    finally:
        client.close()
    secret: str = endpoint["secret"]
    return secret


def _checked(response: Any) -> Any:
    """The response of a request that must succeed; else the server's error message, and exit 1."""
    if response.is_success:
        return response
    try:
        message = response.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        message = response.text
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)
