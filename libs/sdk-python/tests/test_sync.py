"""The synchronous client against the real platform."""

from __future__ import annotations

import io
import os
import uuid

import pytest

from conftest import SLOW_COUNT, FaultyTransport
from sandbox_sdk import (
    AuthenticationError,
    ConflictError,
    Execution,
    NotFoundError,
    PermissionDeniedError,
    Sandbox,
    SandboxApiError,
    ValidationError,
)


def test_creates_a_running_session_and_runs_code(session) -> None:
    assert session.status == "running"
    assert session.template_id == "python-basic"
    r = session.run("print(1)")
    assert isinstance(r, Execution)
    assert (r.status, r.exit_code, r.stdout) == ("completed", 0, "1\n")
    r = session.run("import os, sys\nprint(sys.stdin.read(), os.environ['WHO'])\nsys.exit(3)", stdin="hi", env={"WHO": "me"}, timeout=10)
    assert (r.status, r.exit_code, r.stdout) == ("completed", 3, "hi me\n")
    assert session.keep_alive().status == "running"


def test_streams_output_before_the_result(session) -> None:
    stream = session.stream(SLOW_COUNT)
    events = list(stream)
    types = [e.type for e in events]
    assert types[0] == "execution" and types[-1] == "result"
    stdout = [e for e in events if e.type == "stdout"]
    assert stdout and all(types.index("result") > events.index(e) for e in stdout)
    assert all(e.id for e in stdout)
    assert "".join(e.text or "" for e in stdout) == "0\n1\n2\n"
    assert stream.result is not None and stream.result.stdout == "0\n1\n2\n" and stream.result.status == "completed"
    assert stream.execution_id == stream.result.id


def test_a_dropped_stream_resumes_from_the_last_event_id(base_url: str, api_key: str, session) -> None:
    # the POST's stream breaks off after its first stdout event; the SDK resumes with GET …/events
    transport = FaultyTransport(lambda req, n: "drop-stream" if req.method == "POST" and req.url.params.get("stream") == "true" else None)
    with Sandbox(api_key=api_key, base_url=base_url, transport=transport) as sbx:
        s = sbx.sessions.get(session.id)
        stream = s.stream(SLOW_COUNT)
        out = "".join(e.text or "" for e in stream if e.type == "stdout")
    assert out == "0\n1\n2\n"  # every piece, none twice
    assert stream.result is not None and stream.result.stdout == out
    resumed = [x["request"] for x in transport.seen.exchanges if x["request"].url.path.endswith("/events")]
    assert resumed and resumed[0].headers.get("last-event-id")
    # following it afterwards from an event id gives only what came after it
    events = list(session.executions.events(stream.result.id, last_event_id=resumed[0].headers["last-event-id"]))
    assert "".join(e.text or "" for e in events if e.type == "stdout") == "1\n2\n"
    assert events[-1].type == "result"


def test_contexts_keep_state(session) -> None:
    ctx = session.contexts.create(language="python")
    assert ctx.status == "active" and ctx.session_id == session.id
    session.run("x = 41", context_id=ctx.id)
    r = session.run("x + 1", context_id=ctx.id)
    assert r.value is not None and r.value.text == "42"
    assert ctx.id in [c.id for c in session.contexts.list()]
    session.contexts.delete(ctx.id)
    assert ctx.id not in [c.id for c in session.contexts.list()]


def test_uploads_and_downloads_files_streamed(session) -> None:
    data = os.urandom(300_000)
    chunks = (data[i : i + 70_000] for i in range(0, len(data), 70_000))
    info = session.files.upload("data/blob.bin", chunks)
    assert (info.path, info.size) == ("data/blob.bin", len(data))
    session.files.upload("data/from-file.txt", io.BytesIO(b"x,y\n1,2\n"))
    with session.files.download("data/blob.bin") as download:
        assert download.size == len(data)
        pieces = list(download)
    assert len(pieces) > 1 and b"".join(pieces) == data
    assert session.files.read_bytes("data/from-file.txt") == b"x,y\n1,2\n"
    assert sorted(f.path for f in session.files.list(prefix="data/").items) == ["data/blob.bin", "data/from-file.txt"]
    r = session.run("import os\nprint(os.path.getsize('data/blob.bin'), open('data/from-file.txt').read().upper(), end='')")
    assert r.stdout == f"{len(data)} X,Y\n1,2\n"
    session.files.remove("data/from-file.txt")
    with pytest.raises(NotFoundError):
        session.files.read_bytes("data/from-file.txt")


def test_downloads_an_artifact(session) -> None:
    r = session.run("open('report.txt', 'w').write('hello artifact ' * 1000)")
    assert r.status == "completed"
    assert "report.txt" in [a.path for a in r.artifacts or []]
    assert session.executions.read_artifact(r.id, "report.txt") == b"hello artifact " * 1000
    assert b"".join(session.executions.artifact(r.id, "report.txt")) == b"hello artifact " * 1000


def test_cancels_a_long_run(session) -> None:
    e = session.submit("import time\nprint('started', flush=True)\ntime.sleep(120)", timeout=300)
    assert e.status in ("pending", "running")
    with session.executions.events(e.id) as events:
        assert next(ev for ev in events if ev.type == "stdout").text == "started\n"
    cancelled = session.executions.cancel(e.id)
    assert cancelled.id == e.id
    final = session.executions.wait(e.id, timeout=60)
    assert (final.status, final.reason) == ("failed", "cancelled")
    assert e.id in [x.id for x in session.executions.list(limit=10).items]


def test_replays_a_call_with_its_idempotency_key(session, base_url: str, api_key: str) -> None:
    key = str(uuid.uuid4())
    first = session.run("print('once')", idempotency_key=key)
    again = session.run("print('once')", idempotency_key=key)
    assert again.id == first.id
    with pytest.raises(ValidationError) as refused:
        session.run("print('another')", idempotency_key=key)
    assert refused.value.code == "idempotency_key_reused"

    # the answer to the first POST is lost: the retry carries the same key and gets the same execution
    transport = FaultyTransport(lambda req, n: "lose-response" if req.method == "POST" and req.url.path.endswith("/executions") and n == 0 else None)
    with Sandbox(api_key=api_key, base_url=base_url, transport=transport) as sbx:
        r = sbx.sessions.get(session.id).run("print('exactly once')")
    posts = [x for x in transport.seen.exchanges if x["request"].method == "POST"]
    assert len(posts) == 2
    keys = {x["request"].headers["idempotency-key"] for x in posts}
    assert len(keys) == 1
    assert posts[1]["response"].headers.get("idempotent-replayed") == "true"
    assert r.stdout == "exactly once\n"
    assert [x.id for x in session.executions.list(limit=50).items].count(r.id) == 1


def test_typed_errors(sbx: Sandbox, session, base_url: str) -> None:
    with pytest.raises(NotFoundError) as missing:
        sbx.sessions.get("no-such-session")
    assert (missing.value.status, missing.value.code) == (404, "not_found")
    with pytest.raises(ValidationError) as invalid:
        session.run("print(1)", timeout=0)
    assert invalid.value.status == 422 and invalid.value.code == "validation_failed"
    assert "timeout" in [d.field for d in invalid.value.details]
    with pytest.raises(ValidationError):
        sbx.sessions.create(template="python-basic", timeout=1)
    with pytest.raises(AuthenticationError) as unknown:
        Sandbox(api_key="sk-not-a-key", base_url=base_url).templates.list()
    assert unknown.value.status == 401
    with pytest.raises(PermissionDeniedError):
        sbx.nodes.list()
    assert isinstance(missing.value, SandboxApiError)


def test_templates_runtimes_and_sessions(sbx: Sandbox, session) -> None:
    templates = sbx.templates.list()
    assert "python-basic" in [t.id for t in templates]
    assert sbx.templates.get("python-basic").language == "python"
    assert any(r.template_id == "python-basic" and r.language == "python" for r in sbx.runtimes.list())
    assert session.id in [s.id for s in sbx.sessions.list(status="running").items]
    assert sbx.sessions.get(session.id).id == session.id


def test_session_context_manager_terminates(sbx: Sandbox) -> None:
    with sbx.sessions.create(template="python-basic", wait=False) as s:
        assert s.status in ("creating", "running")
    assert s.refresh().status == "terminated"
    with pytest.raises(ConflictError):
        s.keep_alive()


def test_admin_keys_and_nodes(base_url: str, admin_key: str) -> None:
    with Sandbox(api_key=admin_key, base_url=base_url) as admin:
        nodes = admin.nodes.list()
        assert nodes and all(n.status in ("online", "draining", "offline") for n in nodes)
        assert admin.nodes.get(nodes[0].id).id == nodes[0].id
        with pytest.raises(NotFoundError):
            admin.nodes.drain("no-such-node")
        created = admin.keys.create("sdk test", tenant="sdk-py-keys")
        assert created.key and created.scope == "tenant"
        assert created.id in [k.id for k in admin.keys.list(tenant="sdk-py-keys")]
        with Sandbox(api_key=created.key, base_url=base_url) as other:
            assert other.templates.list()
            revoked = admin.keys.revoke(created.id)
            assert revoked.revoked_at is not None
            with pytest.raises(AuthenticationError):
                other.templates.list()
