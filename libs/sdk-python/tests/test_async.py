"""The asynchronous client against the real platform: the same surface, awaited."""

from __future__ import annotations

import os
import uuid

import pytest

from conftest import SLOW_COUNT, AsyncFaultyTransport
from sandbox_sdk import AsyncSandbox, AuthenticationError, NotFoundError, ValidationError


async def test_async_session_run_stream_contexts_files_artifacts_cancel(base_url: str, api_key: str) -> None:
    async with AsyncSandbox(api_key=api_key, base_url=base_url) as sbx:
        async with sbx.sessions.create(template="python-basic", timeout=600) as s:
            assert s.status == "running"
            r = await s.run("print(6 * 7)")
            assert (r.status, r.exit_code, r.stdout) == ("completed", 0, "42\n")

            types, out = [], ""
            stream = s.stream(SLOW_COUNT)
            async for event in stream:
                types.append(event.type)
                if event.type == "stdout":
                    out += event.text or ""
            assert types[0] == "execution" and types[-1] == "result" and "stdout" in types
            assert max(i for i, t in enumerate(types) if t == "stdout") < types.index("result")
            assert out == "0\n1\n2\n" and stream.result is not None and stream.result.stdout == out

            ctx = await s.contexts.create()
            await s.run("total = 40", context_id=ctx.id)
            assert (await s.run("total + 2", context_id=ctx.id)).value.text == "42"  # type: ignore[union-attr]
            assert ctx.id in [c.id for c in await s.contexts.list()]
            await s.contexts.delete(ctx.id)

            data = os.urandom(200_000)

            async def chunks():
                for i in range(0, len(data), 50_000):
                    yield data[i : i + 50_000]

            info = await s.files.upload("in/async.bin", chunks())
            assert info.size == len(data)
            download = await s.files.download("in/async.bin")
            pieces = [piece async for piece in download]
            assert b"".join(pieces) == data
            assert await s.files.read_bytes("in/async.bin") == data
            assert [f.path for f in (await s.files.list(prefix="in/")).items] == ["in/async.bin"]
            await s.files.remove("in/async.bin")
            with pytest.raises(NotFoundError):
                await s.files.read_bytes("in/async.bin")

            r = await s.run("open('out.csv', 'w').write('a,b\\n1,2\\n')")
            assert await s.executions.read_artifact(r.id, "out.csv") == b"a,b\n1,2\n"

            e = await s.submit("import time\nprint('started', flush=True)\ntime.sleep(120)", timeout=300)
            async with s.executions.events(e.id) as events:
                async for ev in events:
                    if ev.type == "stdout":
                        break
            await s.executions.cancel(e.id)
            final = await s.executions.wait(e.id, timeout=60)
            assert (final.status, final.reason) == ("failed", "cancelled")
            session_id = s.id
        assert (await sbx.sessions.get(session_id)).status == "terminated"


async def test_async_stream_resumes_and_calls_replay(base_url: str, api_key: str) -> None:
    def rule(req, n):
        if req.method == "POST" and req.url.params.get("stream") == "true":
            return "drop-stream"
        if req.method == "POST" and req.url.path.endswith("/executions") and n == 0:
            return "lose-response"
        return None

    transport = AsyncFaultyTransport(rule)
    async with AsyncSandbox(api_key=api_key, base_url=base_url, transport=transport) as sbx:
        s = await sbx.sessions.create(template="python-basic")
        try:
            r = await s.run("print('exactly once')")  # its first answer is lost: retried with the same key
            posts = [x for x in transport.seen.exchanges if x["request"].method == "POST" and x["request"].url.path.endswith("/executions")]
            assert len(posts) == 2 and len({x["request"].headers["idempotency-key"] for x in posts}) == 1
            assert posts[1]["response"].headers.get("idempotent-replayed") == "true"
            assert [x.id for x in (await s.executions.list()).items] == [r.id]

            out = [e.text async for e in s.stream(SLOW_COUNT) if e.type == "stdout"]
            assert "".join(t or "" for t in out) == "0\n1\n2\n"
            assert any(x["request"].url.path.endswith("/events") and x["request"].headers.get("last-event-id") for x in transport.seen.exchanges)

            key = str(uuid.uuid4())
            first = await s.run("print(1)", idempotency_key=key)
            assert (await s.run("print(1)", idempotency_key=key)).id == first.id
            with pytest.raises(ValidationError) as reused:
                await s.run("print(2)", idempotency_key=key)
            assert reused.value.code == "idempotency_key_reused"
        finally:
            await s.terminate()


async def test_async_typed_errors_and_admin(base_url: str, api_key: str, admin_key: str) -> None:
    async with AsyncSandbox(api_key=api_key, base_url=base_url) as sbx:
        with pytest.raises(NotFoundError) as missing:
            await sbx.sessions.get("no-such-session")
        assert missing.value.status == 404 and missing.value.code == "not_found"
        with pytest.raises(ValidationError) as invalid:
            await sbx.sessions.create(template="", wait=False)
        assert invalid.value.status == 422 and invalid.value.details
        assert [t for t in await sbx.templates.list() if t.id == "python-basic"]
        assert await sbx.runtimes.list()
    async with AsyncSandbox(api_key=admin_key, base_url=base_url) as admin:
        assert await admin.nodes.list()
        created = await admin.keys.create("async sdk test", tenant="sdk-py-async")
        assert created.id in [k.id for k in await admin.keys.list()]
        await admin.keys.revoke(created.id)
        async with AsyncSandbox(api_key=created.key, base_url=base_url) as revoked:
            with pytest.raises(AuthenticationError):
                await revoked.templates.list()
