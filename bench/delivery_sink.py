"""The webhook receiver the delivery benchmark sends to: a minimal HTTP/1.1 server in its own process
(`python -m bench.delivery_sink PORT_FILE`), so the dispatcher is measured against a receiver that costs
next to nothing and does not share its event loop or its core.

It answers every POST with 200 "ok" (keep-alive, as a real receiver would) and keeps, for each, the arrival
time and what signature verification needs (the `webhook-*` headers and the exact body); nothing is verified
here, so the receiver stays cheap: the bench verifies afterwards, with the `standardwebhooks` library.
`GET /records` hands over what arrived since the last such request (JSON), and forgets it.

A raw asyncio server rather than uvicorn and Starlette: a few lines of parsing cost less per request than a
framework's, and on a small machine the receiver competes with the worker and PostgreSQL for the same cores.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench import ROOT

OK = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nok"
Record = tuple[float, str, str, str, str]  # (arrival, webhook-id, webhook-timestamp, webhook-signature, body)


class Sink:
    def __init__(self) -> None:
        self.records: list[Record] = []

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, target = lines[0].split(" ")[:2]
                fields = (line.partition(":") for line in lines[1:] if line)
                headers = {name.strip().lower(): value.strip() for name, _, value in fields}
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                if method == "GET" and target == "/records":
                    taken, self.records = self.records, []
                    payload = json.dumps(taken).encode()
                    writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n")
                    writer.write(b"content-length: %d\r\n\r\n" % len(payload) + payload)
                else:
                    self.records.append(
                        (
                            time.time(),
                            headers.get("webhook-id", ""),
                            headers.get("webhook-timestamp", ""),
                            headers.get("webhook-signature", ""),
                            body.decode(),
                        )
                    )
                    writer.write(OK)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the client closed its connection
        finally:
            writer.close()


async def _main(port_file: Path) -> None:
    sink = Sink()
    server = await asyncio.start_server(sink.serve, "127.0.0.1", 0, backlog=1024)
    port = server.sockets[0].getsockname()[1]
    written = port_file.with_suffix(".tmp")
    written.write_text(str(port))
    written.rename(port_file)  # whole: the bench never reads half a port number
    async with server:
        await server.serve_forever()


@dataclass(frozen=True)
class Received:
    at: float  # the sink's wall clock (time.time()) on arrival
    webhook_id: str
    timestamp: str
    signature: str
    body: str


@dataclass
class SinkProcess:
    url: str
    pid: int

    async def take(self) -> list[Received]:
        """What arrived since the last `take`."""
        async with httpx.AsyncClient(timeout=60) as client:
            response = await client.get(f"{self.url}/records")
            response.raise_for_status()
        return [Received(*row) for row in response.json()]


@asynccontextmanager
async def sink_process(workdir: Path) -> AsyncIterator[SinkProcess]:
    """The sink, started in its own process; stopped afterwards."""
    port_file = workdir / f"sink-port-{time.monotonic_ns()}"
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.delivery_sink", str(port_file), cwd=ROOT, stdin=asyncio.subprocess.DEVNULL
    )
    try:
        async with asyncio.timeout(30):
            while not port_file.exists():
                if process.returncode is not None:
                    raise RuntimeError(f"the sink exited with {process.returncode}")
                await asyncio.sleep(0.02)
        yield SinkProcess(f"http://127.0.0.1:{port_file.read_text()}", process.pid)
    finally:
        if process.returncode is None:
            process.terminate()
            await process.wait()


if __name__ == "__main__":
    asyncio.run(_main(Path(sys.argv[1])))
