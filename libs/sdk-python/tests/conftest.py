"""Fixtures on the real platform: SANDBOX_URL with SANDBOX_API_KEY (a tenant key) and SANDBOX_ADMIN_KEY;
the rate-limited platform's tests need SANDBOX_RATE_LIMITED_URL and SANDBOX_RATE_LIMITED_KEY."""

from __future__ import annotations

import os
import threading
import time
from typing import Any, Callable, Dict, Iterator, List, Optional

import httpx
import pytest

from sandbox_sdk import Sandbox


def env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.skip(f"{name} is not set: these tests run against a real platform")
    return value


@pytest.fixture(scope="session")
def base_url() -> str:
    return env("SANDBOX_URL")


@pytest.fixture(scope="session")
def api_key() -> str:
    return env("SANDBOX_API_KEY")


@pytest.fixture(scope="session")
def admin_key() -> str:
    return env("SANDBOX_ADMIN_KEY")


@pytest.fixture(scope="module")
def sbx(base_url: str, api_key: str) -> Iterator[Sandbox]:
    with Sandbox(api_key=api_key, base_url=base_url) as client:
        yield client


@pytest.fixture(scope="module")
def session(sbx: Sandbox):
    with sbx.sessions.create(template="python-basic", timeout=900) as s:
        yield s


class Seen:
    """What a recording transport saw: (monotonic time, request, response or None)."""

    def __init__(self) -> None:
        self.exchanges: List[Dict[str, Any]] = []
        self.lock = threading.Lock()

    def add(self, **kw: Any) -> None:
        with self.lock:
            self.exchanges.append({"at": time.monotonic(), **kw})


class _DroppingStream(httpx.SyncByteStream):
    """Passes the body on until a chunk matched, then breaks off as a lost connection does."""

    def __init__(self, inner: httpx.SyncByteStream, after: bytes) -> None:
        self.inner, self.after = inner, after

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.inner:
            yield chunk
            if self.after in chunk:
                raise httpx.ReadError("connection dropped (test)")

    def close(self) -> None:
        self.inner.close()


class _AsyncDroppingStream(httpx.AsyncByteStream):
    def __init__(self, inner: httpx.AsyncByteStream, after: bytes) -> None:
        self.inner, self.after = inner, after

    async def __aiter__(self):
        async for chunk in self.inner:
            yield chunk
            if self.after in chunk:
                raise httpx.ReadError("connection dropped (test)")

    async def aclose(self) -> None:
        await self.inner.aclose()


Rule = Callable[[httpx.Request, int], Optional[str]]


class FaultyTransport(httpx.BaseTransport):
    """The real transport, recording every exchange; ``rule(request, n)`` (n: how many requests matched
    before) may say "lose-response" (the request is carried out, its answer lost) or "drop-stream"
    (the body breaks off after the first stdout event)."""

    def __init__(self, rule: Optional[Rule] = None) -> None:
        self.inner = httpx.HTTPTransport()
        self.rule = rule
        self.seen = Seen()
        self.counts: Dict[str, int] = {}

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        action = self.rule(request, self._count(request)) if self.rule else None
        response = self.inner.handle_request(request)
        self.seen.add(request=request, response=response, action=action)
        if action == "lose-response":
            response.read()
            response.close()
            raise httpx.ReadError("response lost (test)")
        if action == "drop-stream":
            return httpx.Response(response.status_code, headers=response.headers, stream=_DroppingStream(response.stream, b"event: stdout"), extensions=response.extensions)  # type: ignore[arg-type]
        return response

    def _count(self, request: httpx.Request) -> int:
        key = f"{request.method} {request.url.path}"
        n = self.counts.get(key, 0)
        self.counts[key] = n + 1
        return n

    def close(self) -> None:
        self.inner.close()


class AsyncFaultyTransport(httpx.AsyncBaseTransport):
    def __init__(self, rule: Optional[Rule] = None) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.rule = rule
        self.seen = Seen()
        self.counts: Dict[str, int] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        key = f"{request.method} {request.url.path}"
        n = self.counts.get(key, 0)
        self.counts[key] = n + 1
        action = self.rule(request, n) if self.rule else None
        response = await self.inner.handle_async_request(request)
        self.seen.add(request=request, response=response, action=action)
        if action == "lose-response":
            await response.aread()
            await response.aclose()
            raise httpx.ReadError("response lost (test)")
        if action == "drop-stream":
            return httpx.Response(response.status_code, headers=response.headers, stream=_AsyncDroppingStream(response.stream, b"event: stdout"), extensions=response.extensions)  # type: ignore[arg-type]
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


# a program whose output comes in three pieces, a while apart: a stream can break between them
SLOW_COUNT = "import time\nfor i in range(3):\n    print(i, flush=True)\n    time.sleep(0.7)\n"
