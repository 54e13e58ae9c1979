"""Against the platform started with a tiny rate limit (3 requests per 2 s per key):
SANDBOX_RATE_LIMITED_URL, SANDBOX_RATE_LIMITED_KEY (tenant) and SANDBOX_RATE_LIMITED_ADMIN_KEY."""

from __future__ import annotations

import time

import pytest

from conftest import AsyncFaultyTransport, FaultyTransport, env
from sandbox_sdk import AsyncSandbox, RateLimitedError, Sandbox


@pytest.fixture(scope="module")
def limited_url() -> str:
    return env("SANDBOX_RATE_LIMITED_URL")


@pytest.fixture(scope="module")
def limited_key() -> str:
    return env("SANDBOX_RATE_LIMITED_KEY")


def waited_as_told(exchanges) -> int:
    """Checks that every request after a 429 came at least Retry-After seconds later; how many 429s."""
    limited = 0
    for before, after in zip(exchanges, exchanges[1:]):
        if before["response"].status_code == 429:
            limited += 1
            retry_after = float(before["response"].headers["retry-after"])
            assert after["at"] - before["at"] >= retry_after - 0.05, (after["at"] - before["at"], retry_after)
    return limited


def test_without_retries_429_is_a_typed_error(limited_url: str, limited_key: str) -> None:
    with Sandbox(api_key=limited_key, base_url=limited_url, max_retries=0) as sbx:
        with pytest.raises(RateLimitedError) as limited:
            for _ in range(10):
                sbx.templates.list()
    assert limited.value.status == 429 and limited.value.code == "rate_limited"
    assert limited.value.retry_after is not None and limited.value.retry_after >= 1


def test_retries_429_after_retry_after(limited_url: str, limited_key: str) -> None:
    transport = FaultyTransport()
    started = time.monotonic()
    with Sandbox(api_key=limited_key, base_url=limited_url, transport=transport, max_retries=5, max_retry_delay=10) as sbx:
        for _ in range(8):
            assert sbx.templates.list()
    assert waited_as_told(transport.seen.exchanges) >= 1
    assert time.monotonic() - started >= 1


async def test_async_retries_429_after_retry_after(limited_url: str, limited_key: str) -> None:
    transport = AsyncFaultyTransport()
    async with AsyncSandbox(api_key=limited_key, base_url=limited_url, transport=transport, max_retries=5, max_retry_delay=10) as sbx:
        for _ in range(8):
            assert await sbx.runtimes.list()
    assert waited_as_told(transport.seen.exchanges) >= 1


def test_admin_drains_a_node(limited_url: str) -> None:
    # the rate-limited platform runs no sessions: its one node can be drained (the admin key is limited too: retried)
    with Sandbox(api_key=env("SANDBOX_RATE_LIMITED_ADMIN_KEY"), base_url=limited_url, max_retries=10, max_retry_delay=10) as admin:
        node = next(n for n in admin.nodes.list() if n.status == "online")
        assert admin.nodes.drain(node.id).status == "draining"
        assert admin.nodes.get(node.id).status in ("draining", "offline")
