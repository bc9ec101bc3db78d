"""What the CLI's client commands share (`switchboard chat`, `runs`, `schedules`, `usage`): the server and key
options, one HTTP client that turns the API's one error shape into one line on stderr, and output as a human
table or as JSON (`--json`) for scripts.

Command modules may import it at their top for the options: httpx is imported only when a client is made, so
`switchboard --help` stays fast."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    import httpx

UrlOption = Annotated[str, typer.Option("--url", envvar="SWITCHBOARD_URL", help="The server's base URL.")]
KeyOption = Annotated[str, typer.Option("--key", envvar="SWITCHBOARD_API_KEY", help="Your API key (sb_…).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON (for scripts) instead of a table.")]
DEFAULT_URL = "http://127.0.0.1:8000"


class ApiError(Exception):
    """The server answered with an error (its `error.message`), or could not be reached."""

    def __init__(self, message: str, status: int | None = None, type_: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.type = type_


class Api:
    """The server at `url`, as the key's user. Every method returns the JSON body, or raises `ApiError`."""

    def __init__(self, url: str, key: str, timeout: float = 30.0) -> None:
        import httpx

        self.url = url.rstrip("/")
        self.client = httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {key}"}, timeout=timeout)

    def close(self) -> None:
        self.client.close()

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        import httpx

        try:
            response = self.client.request(method, path, **kwargs)
        except httpx.ConnectError:
            raise ApiError(
                f"no Switchboard server is running at {self.url} (start one with `switchboard serve`)"
            ) from None
        except httpx.HTTPError as exc:
            raise ApiError(f"{method} {path} failed: {exc}") from None
        if response.status_code >= 400:
            raise error_of(response)
        return response.json() if response.content else None

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params={k: v for k, v in params.items() if v is not None})

    def post(self, path: str, body: Any = None) -> Any:
        return self.request("POST", path, json=body)

    def pages(self, path: str, limit: int | None = None, **params: Any) -> Iterator[dict[str, Any]]:
        """The items of a paginated list, following `next_cursor`, at most `limit` of them."""
        cursor: str | None = None
        seen = 0
        while True:
            page = self.get(path, cursor=cursor, limit=min(100, limit - seen) if limit else 100, **params)
            for item in page["items"]:
                yield item
                seen += 1
                if limit is not None and seen >= limit:
                    return
            cursor = page.get("next_cursor")
            if not cursor:
                return


def error_of(response: httpx.Response) -> ApiError:
    """The API's one error shape as one line: `404 not_found: Run … not found.`"""
    try:
        error = response.json()["error"]
        message, type_ = str(error["message"]), str(error["type"])
    except (ValueError, KeyError, TypeError):
        message, type_ = response.text[:200] or response.reason_phrase, "http_error"
    retry = response.headers.get("retry-after")
    hint = f" (retry after {retry} s)" if retry and response.status_code in (429, 503) else ""
    return ApiError(f"{response.status_code} {type_}: {message}{hint}", response.status_code, type_)


@contextmanager
def api(url: str, key: str, timeout: float = 30.0) -> Iterator[Api]:
    """The client for a command; a missing key or any `ApiError` ends the command with one line on stderr."""
    if not key:
        typer.echo("error: give --key or set SWITCHBOARD_API_KEY", err=True)
        raise typer.Exit(2)
    client = Api(url, key, timeout)
    try:
        yield client
    except ApiError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None
    finally:
        client.close()


def print_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, ensure_ascii=False, default=str))


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Columns two spaces apart, headers in capitals; `-` for an empty cell."""
    cells = [[h.upper() for h in headers]] + [["-" if v is None or v == "" else str(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for row in cells:
        typer.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
