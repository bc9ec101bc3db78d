"""The chat bench's load: scenarios (one chat turn, however it is made) driven by concurrent clients for a fixed
time, or by one client turn after turn with each turn's cost measured."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx
from openai import AsyncOpenAI

from bench.chat_meter import Cpu, Meter
from bench.model_calls import two_calls

PROMPT = "Show me my orders, please."


@dataclass(frozen=True)
class Scenario:
    """A way to make one chat turn; `turn(client)` makes one for client number `client`, raising on failure."""

    name: str
    turn: Callable[[int], Awaitable[None]]
    meter: Meter | None  # the server doing the work (none when the bench calls the model itself)


def http_scenario(
    name: str, url: str, body: dict[str, str], keys: list[str], meter: Meter, http: httpx.AsyncClient
) -> Scenario:
    """Turns as POSTs of `body` to `url`; client i authenticates with keys[i] (no header when `keys` is empty)."""

    async def turn(client: int) -> None:
        headers = {"Authorization": f"Bearer {keys[client]}"} if keys else None
        response = await http.post(url, json=body, headers=headers)
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered {response.status_code}: {response.text[:300]}")

    return Scenario(name, turn, meter)


def direct_scenario(model: AsyncOpenAI) -> Scenario:
    """The support agent's two model calls, made by the bench itself."""

    async def turn(client: int) -> None:
        await two_calls(model, PROMPT)

    return Scenario("direct", turn, None)


@dataclass
class Load:
    """What `clients` concurrent clients did in `seconds`."""

    clients: int
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)  # seconds, one per successful turn
    errors: list[str] = field(default_factory=list)

    @property
    def turns(self) -> int:
        return len(self.latencies)


async def load(scenario: Scenario, clients: int, seconds: float) -> Load:
    """Each client makes turns back to back until `seconds` have passed; the turns in flight then finish (and
    count: the window ends with the last of them)."""
    result = Load(clients)
    start = time.perf_counter()
    stop_at = start + seconds

    async def client(index: int) -> None:
        while time.perf_counter() < stop_at:
            began = time.perf_counter()
            try:
                await scenario.turn(index)
            except Exception as exc:  # a failed turn is reported, not fatal: the others go on
                result.errors.append(f"{type(exc).__name__}: {exc}")
                await asyncio.sleep(0.1)
                continue
            result.latencies.append(time.perf_counter() - began)

    await asyncio.gather(*(client(i) for i in range(clients)))
    result.seconds = time.perf_counter() - start
    return result


@dataclass(frozen=True)
class TurnCost:
    latency: float  # seconds
    cpu: Cpu | None  # the server's, over this turn


async def one_by_one(scenario: Scenario, turns: int, client: int = 0) -> list[TurnCost]:
    """`turns` turns by one client, each measured (CPU from /proc: 10 ms ticks, so sum several turns)."""
    costs: list[TurnCost] = []
    for _ in range(turns):
        before = scenario.meter.cpu() if scenario.meter else None
        began = time.perf_counter()
        await scenario.turn(client)
        latency = time.perf_counter() - began
        after = scenario.meter.cpu() if scenario.meter else None
        costs.append(TurnCost(latency, None if after is None or before is None else after - before))
    return costs


async def alternating(
    scenario: Scenario, baseline: Scenario, turns: int, client: int
) -> tuple[list[TurnCost], list[TurnCost]]:
    """`turns` turns of `scenario` and as many of `baseline`, one of each in turn, so the two samples see the same
    machine (its load drifts) and their difference is the scenario's own: (scenario's costs, baseline's)."""
    ours: list[TurnCost] = []
    theirs: list[TurnCost] = []
    for _ in range(turns):
        theirs += await one_by_one(baseline, 1, client)
        ours += await one_by_one(scenario, 1, client)
    return ours, theirs
