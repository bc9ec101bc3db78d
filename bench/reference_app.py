"""The chat bench's minimal reference: the support agent's two model calls through plain FastAPI + asyncpg, one
row written per turn, no durability (asynchronous commit, no run ledger, no history, no auth):
`BENCH_REFERENCE_DSN=postgresql://… python -m bench.reference_app --port N --model-url http://…/v1`
(the DSN in the environment, so a password would not show in `ps`).

`POST /chat {"message": "…"}` → `{"reply": "…"}`. It is what "a chat turn" costs with nothing of Switchboard's
around it, so the bench can say how far Switchboard's turns are from it."""

from __future__ import annotations

import argparse
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import uvicorn
from fastapi import FastAPI, Request
from pydantic import BaseModel

from bench.model_calls import model_client, two_calls

CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS reference_turns (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    prompt text NOT NULL,
    reply text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
)"""
INSERT = "INSERT INTO reference_turns (prompt, reply) VALUES ($1, $2)"


class Turn(BaseModel):
    message: str


class Reply(BaseModel):
    reply: str


def create_app(dsn: str, model_url: str) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # No durability: the commit does not wait for the WAL to reach the disk.
        pool = await asyncpg.create_pool(dsn, min_size=10, max_size=10, server_settings={"synchronous_commit": "off"})
        await pool.execute(CREATE_TABLE)
        app.state.pool = pool
        app.state.model = model_client(model_url)
        try:
            yield
        finally:
            await app.state.model.close()
            await pool.close()

    app = FastAPI(lifespan=lifespan)

    @app.post("/chat")
    async def chat(turn: Turn, request: Request) -> Reply:
        answer = await two_calls(request.app.state.model, turn.message)
        await request.app.state.pool.execute(INSERT, turn.message, answer)
        return Reply(reply=answer)

    return app


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.reference_app", description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--model-url", required=True, help="the OpenAI-compatible base URL")
    args = parser.parse_args()
    app = create_app(os.environ["BENCH_REFERENCE_DSN"], args.model_url)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
