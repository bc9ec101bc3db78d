"""A real provider's path: the OpenAI SDK, through Pydantic AI, against the fake OpenAI-compatible server, its
model `gpt-4o` priced by genai-prices from the usage the server reports, cached tokens at the cache price."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.fixtures.demo import DemoUser
from tests.fixtures.server import LiveServer
from tests.usage.conftest import ALICE, run_and_wait, steps

Start = Callable[..., tuple[LiveServer, dict[str, DemoUser]]]


def test_a_providers_reported_usage_and_cached_tokens_are_priced(usage_server: Start, fake: FakeOpenAI) -> None:
    # `free` runs on the server's model: here gpt-4o, at the fake server.
    server, users = usage_server(model="openai-chat:gpt-4o", llm_base_url=fake.base_url, llm_api_key="test-key")
    fake.add(Reply(text="cached answer", input_tokens=1000, output_tokens=500, cached_tokens=400))
    with server.client(users[ALICE].key) as client:
        run = run_and_wait(client, "free")
        (step,) = steps(client, run["id"])

    assert run["status"] == "succeeded", run
    # gpt-4o: 600 uncached input tokens at $2.50/M, 400 cached at $1.25/M, 500 output at $10/M.
    assert run["cost_usd"] == pytest.approx(0.0015 + 0.0005 + 0.005)
    assert step["cost_usd"] == pytest.approx(run["cost_usd"])
    assert step["model"] == "openai-chat:gpt-4o"
    assert step["usage"] == {
        "input_tokens": 1000,
        "output_tokens": 500,
        "cache_read_tokens": 400,
        "cache_write_tokens": 0,
    }
    assert run["usage"]["cache_read_tokens"] == 400
