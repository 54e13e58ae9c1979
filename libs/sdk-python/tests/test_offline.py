"""The retry policy, the error mapping and the SSE decoder on a mock transport: no platform needed."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from sandbox_sdk import AsyncSandbox, NotFoundError, RateLimitedError, Sandbox, SandboxConnectionError, ServiceUnavailableError
from sandbox_sdk._base import SseDecoder


def error(status: int, code: str, headers=None) -> httpx.Response:
    return httpx.Response(status, json={"error": {"code": code, "message": code, "details": [{"field": "x", "message": "m"}]}}, headers=headers)


def client(handler, **kw) -> Sandbox:
    return Sandbox(api_key="k", base_url="http://sandbox.test", transport=httpx.MockTransport(handler), **kw)


def test_retries_503_after_retry_after_then_gives_up(monkeypatch) -> None:
    slept = []
    monkeypatch.setattr("sandbox_sdk._sync.time.sleep", slept.append)
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return error(503, "capacity_exhausted", {"retry-after": "2"})

    with pytest.raises(ServiceUnavailableError) as e:
        client(handler, max_retries=2).templates.list()
    assert (len(calls), slept) == (3, [2.0, 2.0])
    assert e.value.retry_after == 2 and e.value.details[0].field == "x"


def test_a_retry_after_past_the_cap_is_not_shortened(monkeypatch) -> None:
    monkeypatch.setattr("sandbox_sdk._sync.time.sleep", lambda s: pytest.fail("slept"))
    with pytest.raises(RateLimitedError):
        client(lambda r: error(429, "rate_limited", {"retry-after": "60"}), max_retry_delay=5).templates.list()


def test_network_errors_are_retried_only_when_harmless(monkeypatch) -> None:
    monkeypatch.setattr("sandbox_sdk._sync.time.sleep", lambda s: None)
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.method, request.url.path, request.headers.get("idempotency-key")))
        if len(seen) == 1 or request.url.path.endswith("/contexts"):
            raise httpx.ReadError("reset")
        if request.url.path == "/v1/sessions":
            return httpx.Response(201, json=session_json("creating"))
        return httpx.Response(200, json=session_json("running"))

    s = client(handler).sessions.create("python-basic")  # POST lost once: retried with the same key
    assert s.status == "running"
    assert seen[0][2] is not None and seen[0][2] == seen[1][2]
    with pytest.raises(SandboxConnectionError):
        s.contexts.create()  # no key: not retried
    assert [p for p in seen if p[1].endswith("/contexts")] == [("POST", "/v1/sessions/s1/contexts", None)]


def test_uploads_stream_and_errors_are_typed() -> None:
    bodies = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "PUT":
            bodies.append((request.headers.get("content-length"), request.headers.get("transfer-encoding"), request.read()))
            return httpx.Response(201, json={"path": "a b/c.txt", "size": 3, "mime_type": "text/plain", "etag": "e", "last_modified": "t", "sha256": "h"})
        if request.url.path.endswith("/files/missing"):
            return error(404, "not_found")
        return httpx.Response(200, json=session_json("running"))

    sbx = client(handler)
    s = sbx.sessions.get("s1")
    s.files.upload("a b/c.txt", io.BytesIO(b"abc"))
    s.files.upload("a b/c.txt", iter([b"a", b"bc"]))
    assert bodies == [("3", None, b"abc"), (None, "chunked", b"abc")]
    with pytest.raises(NotFoundError):
        s.files.read_bytes("missing")


def test_sse_decoder() -> None:
    d = SseDecoder()
    lines = ["retry: 1000", "", ": keep-alive", "", "id: 1-0", "event: stdout", 'data: {"data":"hi\\n"}', "", "event: result", 'data: {"id":"e1"}', ""]
    events = [e for e in (d.feed(line) for line in lines) if e]
    assert [(e.type, e.id, e.text) for e in events] == [("stdout", "1-0", "hi\n"), ("result", None, None)]


async def test_async_retries_429() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) == 1:
            return error(429, "rate_limited", {"retry-after": "0"})
        return httpx.Response(200, json={"items": []})

    async with AsyncSandbox(api_key="k", base_url="http://sandbox.test", transport=httpx.MockTransport(handler)) as sbx:
        assert await sbx.runtimes.list() == []
    assert len(calls) == 2


def session_json(status: str) -> dict:
    return json.loads(json.dumps({"id": "s1", "template_id": "python-basic", "tenant": "t", "status": status, "runtime_type": "docker", "env_vars": [], "timeout": 300}))


def test_the_sync_client_is_generated_from_the_async_one() -> None:
    script = Path(__file__).resolve().parent.parent / "scripts" / "unasync.py"
    run = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
