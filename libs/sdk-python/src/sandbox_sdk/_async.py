"""The asynchronous client: ``AsyncSandbox`` (the same surface as ``Sandbox``, awaited)."""

from __future__ import annotations

import asyncio
import time
from types import TracebackType
from typing import Any, AsyncIterator, Coroutine, Dict, Generator, List, Mapping, Optional, Sequence, Type, Union

import httpx

from ._base import (
    CHUNK_SIZE,
    DEFAULT_MAX_RETRIES,
    DEFAULT_MAX_RETRY_DELAY,
    DEFAULT_POLL_INTERVAL,
    DEFAULT_SESSION_READY_TIMEOUT,
    RETRY_STATUSES,
    STREAM_BROKEN,
    Settings,
    SseDecoder,
    StreamState,
    drop_none,
    execution_body,
    file_path,
    network_retryable,
    new_idempotency_key,
    retry_delay,
    seg,
)
from ._body import async_body
from ._errors import SandboxApiError, SandboxConnectionError, SandboxTimeoutError, SessionNotRunningError, error_from_response
from ._models import (
    ApiKey,
    Context,
    CreatedApiKey,
    Execution,
    ExecutionPage,
    FileInfo,
    FileList,
    InputFile,
    Node,
    PresignedUrl,
    Runtime,
    Session,
    SessionPage,
    StreamEvent,
    Template,
    TestCase,
)


class _Http:
    """httpx.AsyncClient with the API's retry policy and typed errors."""

    def __init__(self, settings: Settings, transport: Optional[httpx.AsyncBaseTransport], http_client: Optional[httpx.AsyncClient]) -> None:
        self.settings = settings
        self._owned = http_client is None
        self.client = http_client or httpx.AsyncClient(
            base_url=settings.base_url, headers=settings.client_headers(), timeout=settings.timeout, transport=transport
        )
        if http_client is not None:
            self.client.base_url = httpx.URL(settings.base_url)
            self.client.headers.update(settings.client_headers())

    async def close(self) -> None:
        if self._owned:
            await self.client.aclose()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Optional[Mapping[str, Any]] = None,
        json: Any = None,
        headers: Optional[Mapping[str, str]] = None,
        content: Any = None,
        replayable: bool = True,
        idempotency_key: Optional[str] = None,
        stream: bool = False,
        timeout: Any = httpx.USE_CLIENT_DEFAULT,
    ) -> httpx.Response:
        """One API call, retried on 429/503 (after Retry-After) and on network errors where that is safe.
        ``content`` may be a factory called once per attempt (a fresh body for each)."""
        sent_headers = dict(headers or {})
        if idempotency_key is not None:
            sent_headers["idempotency-key"] = idempotency_key
        attempt = 0
        while True:
            body = content() if callable(content) else content
            request = self.client.build_request(
                method, path, params=drop_none(params or {}) or None, json=json, content=body, headers=sent_headers, timeout=timeout
            )
            try:
                response = await self.client.send(request, stream=stream)
            except httpx.TransportError as e:
                if attempt < self.settings.max_retries and network_retryable(e, method, idempotency_key is not None, replayable):
                    await self.sleep(retry_delay(attempt, None, self.settings.max_retry_delay) or 0)
                    attempt += 1
                    continue
                raise SandboxConnectionError(f"{method} {path}: {type(e).__name__}: {e}") from e
            if response.status_code < 400:
                return response
            raw = await response.aread()
            await response.aclose()
            if response.status_code in RETRY_STATUSES and attempt < self.settings.max_retries and replayable:
                delay = retry_delay(attempt, response, self.settings.max_retry_delay)
                if delay is not None:
                    await self.sleep(delay)
                    attempt += 1
                    continue
            raise error_from_response(response, raw)

    async def json(self, method: str, path: str, **kw: Any) -> Any:
        response = await self.request(method, path, **kw)
        return response.json() if response.content else None


class AsyncDownload:
    """A file as it streams from the API: its bytes come in chunks as you iterate it (``async for``), or
    whole from ``await read()``. Close it (or use ``async with``) when not read to the end."""

    def __init__(self, response: httpx.Response, chunk_size: int = CHUNK_SIZE) -> None:
        self.response = response
        self.chunk_size = chunk_size

    @property
    def size(self) -> Optional[int]:
        length = self.response.headers.get("content-length")
        return int(length) if length is not None else None

    @property
    def mime_type(self) -> Optional[str]:
        return self.response.headers.get("content-type")

    @property
    def etag(self) -> Optional[str]:
        etag = self.response.headers.get("etag")
        return etag.strip('"') if etag else None

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self.iter_bytes()

    async def iter_bytes(self, chunk_size: Optional[int] = None) -> AsyncIterator[bytes]:
        try:
            async for chunk in self.response.aiter_bytes(chunk_size or self.chunk_size):
                if chunk:
                    yield chunk
        except httpx.TransportError as e:
            raise SandboxConnectionError(f"download broke off: {e}") from e
        finally:
            await self.response.aclose()

    async def read(self) -> bytes:
        return b"".join([chunk async for chunk in self.iter_bytes()])

    async def save(self, dest: Any) -> int:
        """Writes the bytes to a path or a binary file (written as they come); returns how many."""
        n = 0
        if hasattr(dest, "write"):
            async for chunk in self:
                dest.write(chunk)
                n += len(chunk)
            return n
        with open(dest, "wb") as f:
            return await self.save(f)

    async def close(self) -> None:
        await self.response.aclose()

    async def __aenter__(self) -> "AsyncDownload":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()


class AsyncExecutionStream:
    """An execution's events as they come (``async for event in stream``); a dropped connection is resumed
    from the last event id (``GET /v1/executions/{id}/events`` with ``Last-Event-ID``), so no output
    comes twice. ``result`` holds the finished execution once the ``result`` event came."""

    def __init__(self, http: _Http, open_first: Any = None, execution_id: Optional[str] = None, last_event_id: Optional[str] = None, max_reconnects: int = 10) -> None:
        self._http = http
        self._open_first = open_first
        self._state = StreamState()
        self._state.execution_id = execution_id
        self._state.last_event_id = last_event_id
        self.max_reconnects = max_reconnects
        self._response: Optional[httpx.Response] = None
        self._iterator: Optional[AsyncIterator[StreamEvent]] = None

    @property
    def execution_id(self) -> Optional[str]:
        return self._state.execution_id

    @property
    def last_event_id(self) -> Optional[str]:
        return self._state.last_event_id

    @property
    def result(self) -> Optional[Execution]:
        return self._state.result

    def __aiter__(self) -> AsyncIterator[StreamEvent]:
        if self._iterator is None:
            self._iterator = self._events()
        return self._iterator

    async def __anext__(self) -> StreamEvent:
        return await self.__aiter__().__anext__()

    async def until_result(self) -> Execution:
        """Reads the stream to its end; the finished execution."""
        async for _ in self:
            pass
        assert self._state.result is not None
        return self._state.result

    async def _connect(self) -> httpx.Response:
        state = self._state
        if state.execution_id is None:
            response: httpx.Response = await self._open_first()
        else:
            headers = {"accept": "text/event-stream"}
            if state.last_event_id:
                headers["last-event-id"] = state.last_event_id
            response = await self._http.request("GET", f"/v1/executions/{seg(state.execution_id)}/events", headers=headers, stream=True)
        state.take_location(response)
        return response

    async def _events(self) -> AsyncIterator[StreamEvent]:
        state = self._state
        failures = 0
        try:
            while not state.done:
                try:
                    self._response = await self._connect()
                except SandboxConnectionError:
                    if failures >= self.max_reconnects:
                        raise
                    failures += 1
                    await self._http.sleep(min(5.0, 0.2 * 2**failures))
                    continue
                decoder = SseDecoder()
                broken: Optional[BaseException] = None
                try:
                    async for line in self._response.aiter_lines():
                        event = decoder.feed(line)
                        if event is None:
                            continue
                        state.see(event)
                        failures = 0
                        yield event
                        if state.done:
                            break
                except STREAM_BROKEN as e:
                    broken = e
                finally:
                    await self._response.aclose()
                    self._response = None
                if state.done:
                    return
                # the connection dropped, or the server ended the stream before the result: resume
                if failures >= self.max_reconnects:
                    raise SandboxConnectionError(f"the stream of execution {state.execution_id} broke off {failures + 1} times: {broken}")
                failures += 1
                await self._http.sleep(min(5.0, 0.2 * 2**failures))
        finally:
            if self._response is not None:
                await self._response.aclose()

    async def close(self) -> None:
        if self._iterator is not None:
            await self._iterator.aclose()  # type: ignore[attr-defined]
        if self._response is not None:
            await self._response.aclose()

    async def __aenter__(self) -> "AsyncExecutionStream":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()


class AsyncExecutions:
    """Executions by id; with a session (``session.executions``) also its list."""

    def __init__(self, http: _Http, session_id: Optional[str] = None) -> None:
        self._http = http
        self._session_id = session_id

    async def get(self, execution_id: str, *, inline: bool = False) -> Execution:
        return Execution.model_validate(await self._http.json("GET", f"/v1/executions/{seg(execution_id)}", params={"inline": "true" if inline else None}))

    async def list(self, *, limit: Optional[int] = None, cursor: Optional[str] = None, session_id: Optional[str] = None) -> ExecutionPage:
        sid = session_id or self._session_id
        if sid is None:
            raise ValueError("list needs a session: session.executions.list() or session_id=")
        return ExecutionPage.model_validate(await self._http.json("GET", f"/v1/sessions/{seg(sid)}/executions", params={"limit": limit, "cursor": cursor}))

    async def cancel(self, execution_id: str) -> Execution:
        """Stops it: ``failed`` (``cancelled``) when ended, still ``running`` while its node stops it."""
        return Execution.model_validate(await self._http.json("POST", f"/v1/executions/{seg(execution_id)}/cancel"))

    async def wait(self, execution_id: str, *, timeout: Optional[float] = None, inline: bool = False) -> Execution:
        """Polls until the execution is terminal; ``SandboxTimeoutError`` after ``timeout`` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            execution = await self.get(execution_id, inline=inline)
            if execution.is_terminal:
                return execution
            if deadline is not None and time.monotonic() >= deadline:
                raise SandboxTimeoutError(f"execution {execution_id} is still {execution.status} after {timeout} s")
            await self._http.sleep(self._http.settings.poll_interval)

    def events(self, execution_id: str, *, last_event_id: Optional[str] = None) -> AsyncExecutionStream:
        """Follows an execution's events (from the start, or after ``last_event_id``)."""
        return AsyncExecutionStream(self._http, execution_id=execution_id, last_event_id=last_event_id)

    async def artifact(self, execution_id: str, path: str) -> AsyncDownload:
        """A file the execution stored (``Execution.artifacts``), streamed."""
        response = await self._http.request("GET", f"/v1/executions/{seg(execution_id)}/artifacts/{file_path(path)}", headers={"accept": "*/*"}, stream=True)
        return AsyncDownload(response)

    async def read_artifact(self, execution_id: str, path: str) -> bytes:
        return await (await self.artifact(execution_id, path)).read()


class AsyncContexts:
    """Interpreter contexts of a session: variables stay between the executions (cells) run in one."""

    def __init__(self, http: _Http, session_id: str) -> None:
        self._http = http
        self._base = f"/v1/sessions/{seg(session_id)}/contexts"

    async def create(self, language: Optional[str] = None) -> Context:
        return Context.model_validate(await self._http.json("POST", self._base, json=drop_none({"language": language}), replayable=False))

    async def list(self) -> List[Context]:
        return [Context.model_validate(c) for c in (await self._http.json("GET", self._base))["items"]]

    async def get(self, context_id: str) -> Context:
        return Context.model_validate(await self._http.json("GET", f"{self._base}/{seg(context_id)}"))

    async def restart(self, context_id: str) -> Context:
        return Context.model_validate(await self._http.json("POST", f"{self._base}/{seg(context_id)}/restart"))

    async def delete(self, context_id: str) -> None:
        await self._http.request("DELETE", f"{self._base}/{seg(context_id)}")


class AsyncFiles:
    """A session's workspace files (``/workspace``): uploads are seen by its next execution."""

    def __init__(self, http: _Http, session_id: str) -> None:
        self._http = http
        self._base = f"/v1/sessions/{seg(session_id)}/files"

    async def upload(self, path: str, data: Any, *, chunk_size: int = CHUNK_SIZE) -> FileInfo:
        """Stores ``data`` (bytes, a binary file, or an iterator of bytes) at ``path``, streamed."""
        make, replayable, length = async_body(data, chunk_size)
        headers = {"content-type": "application/octet-stream"}
        if length is not None:
            headers["content-length"] = str(length)
        response = await self._http.request("PUT", f"{self._base}/{file_path(path)}", content=make, replayable=replayable, headers=headers)
        return FileInfo.model_validate(response.json())

    async def download(self, path: str) -> AsyncDownload:
        """The file, streamed: iterate the answer for chunks of bytes."""
        return AsyncDownload(await self._http.request("GET", f"{self._base}/{file_path(path)}", headers={"accept": "*/*"}, stream=True))

    async def read_bytes(self, path: str) -> bytes:
        return await (await self.download(path)).read()

    async def presign(self, path: str) -> PresignedUrl:
        return PresignedUrl.model_validate(await self._http.json("GET", f"{self._base}/{file_path(path)}", params={"presign": "true"}))

    async def list(self, prefix: Optional[str] = None, *, limit: Optional[int] = None, cursor: Optional[str] = None) -> FileList:
        return FileList.model_validate(await self._http.json("GET", self._base, params={"prefix": prefix, "limit": limit, "cursor": cursor}))

    async def remove(self, path: str) -> None:
        await self._http.request("DELETE", f"{self._base}/{file_path(path)}")


class AsyncSandboxSession:
    """A live handle on a session: run code in it, stream, contexts, files. The fields of the session
    (``id``, ``status``, ...) read through to ``info``, as last fetched. As a context manager it
    terminates the session on exit."""

    def __init__(self, http: _Http, info: Session) -> None:
        self._http = http
        self.info = info
        self.executions = AsyncExecutions(http, info.id)
        self.contexts = AsyncContexts(http, info.id)
        self.files = AsyncFiles(http, info.id)

    @property
    def id(self) -> str:
        return self.info.id

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name in ("info",):
            raise AttributeError(name)
        return getattr(self.info, name)

    def __repr__(self) -> str:
        return f"SandboxSession(id={self.info.id!r}, template_id={self.info.template_id!r}, status={self.info.status!r})"

    async def refresh(self) -> Session:
        self.info = Session.model_validate(await self._http.json("GET", f"/v1/sessions/{seg(self.id)}"))
        return self.info

    async def wait_until_running(self, timeout: Optional[float] = DEFAULT_SESSION_READY_TIMEOUT) -> "AsyncSandboxSession":
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.info.status != "running":
            if not self.info.is_live:
                raise SessionNotRunningError(self.info)
            if deadline is not None and time.monotonic() >= deadline:
                raise SandboxTimeoutError(f"session {self.id} is still {self.info.status} after {timeout} s")
            await self._http.sleep(self._http.settings.poll_interval)
            await self.refresh()
        return self

    async def run(
        self,
        code: str,
        language: Optional[str] = None,
        stdin: Optional[str] = None,
        timeout: Optional[int] = None,
        env: Optional[Mapping[str, str]] = None,
        context_id: Optional[str] = None,
        *,
        args: Optional[Sequence[str]] = None,
        encoding: Optional[str] = None,
        files: Optional[Sequence[Union[InputFile, Mapping[str, Any]]]] = None,
        collect: Optional[Sequence[str]] = None,
        test_cases: Optional[Sequence[Union[TestCase, Mapping[str, Any]]]] = None,
        compare: Optional[str] = None,
        callback_url: Optional[str] = None,
        inline: bool = False,
        idempotency_key: Optional[str] = None,
        wait_timeout: Optional[float] = None,
    ) -> Execution:
        """Runs code and returns the finished execution (``completed`` with any exit code, ``timeout``,
        ``failed``): the server holds the request while it runs, then this polls if it answered 202."""
        body = execution_body(
            code, language=language, stdin=stdin, timeout=timeout, env=env, context_id=context_id, args=args, encoding=encoding,
            files=files, collect=collect, test_cases=test_cases, compare=compare, callback_url=callback_url,
        )  # fmt: skip
        params: Dict[str, Any] = {"wait": "true", "wait_ms": self._http.settings.wait_ms(), "inline": "true" if inline else None}
        data = await self._http.json(
            "POST", f"/v1/sessions/{seg(self.id)}/executions", params=params, json=body, idempotency_key=idempotency_key or new_idempotency_key()
        )
        execution = Execution.model_validate(data)
        if execution.is_terminal:
            return execution
        return await self.executions.wait(execution.id, timeout=wait_timeout, inline=inline)

    async def submit(
        self,
        code: str,
        language: Optional[str] = None,
        stdin: Optional[str] = None,
        timeout: Optional[int] = None,
        env: Optional[Mapping[str, str]] = None,
        context_id: Optional[str] = None,
        *,
        idempotency_key: Optional[str] = None,
        **more: Any,
    ) -> Execution:
        """Queues code without waiting: the ``pending`` execution (``executions.wait``/``events`` follow it)."""
        body = execution_body(code, language=language, stdin=stdin, timeout=timeout, env=env, context_id=context_id, **_more_fields(more))
        data = await self._http.json("POST", f"/v1/sessions/{seg(self.id)}/executions", json=body, idempotency_key=idempotency_key or new_idempotency_key())
        return Execution.model_validate(data)

    def stream(
        self,
        code: str,
        language: Optional[str] = None,
        stdin: Optional[str] = None,
        timeout: Optional[int] = None,
        env: Optional[Mapping[str, str]] = None,
        context_id: Optional[str] = None,
        *,
        idempotency_key: Optional[str] = None,
        max_reconnects: int = 10,
        **more: Any,
    ) -> AsyncExecutionStream:
        """Runs code and gives its events as they come: ``stdout``/``stderr`` pieces, then ``result``."""
        body = execution_body(code, language=language, stdin=stdin, timeout=timeout, env=env, context_id=context_id, **_more_fields(more))
        key = idempotency_key or new_idempotency_key()
        path = f"/v1/sessions/{seg(self.id)}/executions"

        async def open_first() -> httpx.Response:
            return await self._http.request(
                "POST", path, params={"stream": "true"}, json=body, idempotency_key=key, headers={"accept": "text/event-stream"}, stream=True
            )

        return AsyncExecutionStream(self._http, open_first=open_first, max_reconnects=max_reconnects)

    async def keep_alive(self) -> Session:
        """Counts as activity: the idle timeout starts again."""
        self.info = Session.model_validate(await self._http.json("POST", f"/v1/sessions/{seg(self.id)}/keepalive"))
        return self.info

    async def set_timeout(self, seconds: int) -> Session:
        """The idle timeout, counted from now."""
        self.info = Session.model_validate(await self._http.json("PATCH", f"/v1/sessions/{seg(self.id)}", json={"timeout": seconds}))
        return self.info

    async def terminate(self) -> Session:
        self.info = Session.model_validate(await self._http.json("DELETE", f"/v1/sessions/{seg(self.id)}"))
        return self.info

    async def __aenter__(self) -> "AsyncSandboxSession":
        return self

    async def __aexit__(self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException], tb: Optional[TracebackType]) -> None:
        try:
            await self.terminate()
        except (SandboxApiError, SandboxConnectionError):
            if exc_type is None:
                raise


def _more_fields(more: Mapping[str, Any]) -> Dict[str, Any]:
    allowed = ("args", "encoding", "files", "collect", "test_cases", "compare", "callback_url")
    unknown = set(more) - set(allowed)
    if unknown:
        raise TypeError(f"unexpected arguments: {', '.join(sorted(unknown))}")
    return {k: more.get(k) for k in allowed}


class AsyncSessions:
    def __init__(self, http: _Http) -> None:
        self._http = http

    # unasync: async-only
    def create(
        self,
        template: str = "python-basic",
        *,
        env_vars: Optional[Mapping[str, str]] = None,
        timeout: Optional[int] = None,
        resources: Optional[Mapping[str, str]] = None,
        wait: bool = True,
        ready_timeout: Optional[float] = DEFAULT_SESSION_READY_TIMEOUT,
        idempotency_key: Optional[str] = None,
    ) -> "_SessionCreation":
        """Creates a session of a template; unless ``wait=False``, returns once a node runs it.
        ``await`` it for the session, or ``async with`` it to terminate the session on exit."""
        return _SessionCreation(
            self._create(
                template, env_vars=env_vars, timeout=timeout, resources=resources, wait=wait, ready_timeout=ready_timeout, idempotency_key=idempotency_key
            )
        )
    # unasync: end

    async def _create(
        self,
        template: str = "python-basic",
        *,
        env_vars: Optional[Mapping[str, str]] = None,
        timeout: Optional[int] = None,
        resources: Optional[Mapping[str, str]] = None,
        wait: bool = True,
        ready_timeout: Optional[float] = DEFAULT_SESSION_READY_TIMEOUT,
        idempotency_key: Optional[str] = None,
    ) -> AsyncSandboxSession:
        """Creates a session of a template; unless ``wait=False``, returns once a node runs it."""
        body = drop_none({"template_id": template, "env_vars": dict(env_vars) if env_vars else None, "timeout": timeout, "resources": dict(resources) if resources else None})
        data = await self._http.json("POST", "/v1/sessions", json=body, idempotency_key=idempotency_key or new_idempotency_key())
        session = AsyncSandboxSession(self._http, Session.model_validate(data))
        if wait:
            try:
                await session.wait_until_running(ready_timeout)
            except SandboxTimeoutError:
                await _quietly(session.terminate)
                raise
        return session

    async def get(self, session_id: str) -> AsyncSandboxSession:
        return AsyncSandboxSession(self._http, Session.model_validate(await self._http.json("GET", f"/v1/sessions/{seg(session_id)}")))

    async def list(self, *, status: Optional[str] = None, limit: Optional[int] = None, cursor: Optional[str] = None) -> SessionPage:
        return SessionPage.model_validate(await self._http.json("GET", "/v1/sessions", params={"status": status, "limit": limit, "cursor": cursor}))

    async def terminate(self, session_id: str) -> Session:
        return Session.model_validate(await self._http.json("DELETE", f"/v1/sessions/{seg(session_id)}"))


# unasync: async-only
class _SessionCreation:
    """``await sbx.sessions.create(...)`` or ``async with sbx.sessions.create(...) as s:``."""

    def __init__(self, creating: Coroutine[Any, Any, AsyncSandboxSession]) -> None:
        self._creating = creating
        self._session: Optional[AsyncSandboxSession] = None

    def __await__(self) -> Generator[Any, None, AsyncSandboxSession]:
        return self._creating.__await__()

    async def __aenter__(self) -> AsyncSandboxSession:
        self._session = await self._creating
        return self._session

    async def __aexit__(self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException], tb: Optional[TracebackType]) -> None:
        if self._session is not None:
            await self._session.__aexit__(exc_type, exc, tb)
# unasync: end


async def _quietly(fn: Any) -> None:
    try:
        await fn()
    except Exception:  # noqa: BLE001 - best effort clean-up; the first error is the one that matters
        pass


class AsyncTemplates:
    def __init__(self, http: _Http) -> None:
        self._http = http

    async def list(self) -> List[Template]:
        return [Template.model_validate(t) for t in (await self._http.json("GET", "/v1/templates"))["items"]]

    async def get(self, template_id: str) -> Template:
        return Template.model_validate(await self._http.json("GET", f"/v1/templates/{seg(template_id)}"))


class AsyncRuntimes:
    def __init__(self, http: _Http) -> None:
        self._http = http

    async def list(self) -> List[Runtime]:
        return [Runtime.model_validate(r) for r in (await self._http.json("GET", "/v1/runtimes"))["items"]]


class AsyncNodes:
    """Runtime nodes (admin keys only)."""

    def __init__(self, http: _Http) -> None:
        self._http = http

    async def list(self) -> List[Node]:
        return [Node.model_validate(n) for n in (await self._http.json("GET", "/v1/nodes"))["items"]]

    async def get(self, node_id: str) -> Node:
        return Node.model_validate(await self._http.json("GET", f"/v1/nodes/{seg(node_id)}"))

    async def drain(self, node_id: str) -> Node:
        """No new sessions there; it finishes its work, moves its sessions away and exits."""
        return Node.model_validate(await self._http.json("POST", f"/v1/nodes/{seg(node_id)}/drain"))

    async def undrain(self, node_id: str) -> Node:
        return Node.model_validate(await self._http.json("POST", f"/v1/nodes/{seg(node_id)}/undrain"))


class AsyncApiKeys:
    """API keys (admin keys only)."""

    def __init__(self, http: _Http) -> None:
        self._http = http

    async def create(self, name: str, *, tenant: str, scope: str = "tenant", expires_in_days: Optional[int] = None) -> CreatedApiKey:
        body = drop_none({"name": name, "scope": scope, "tenant": tenant, "expires_in_days": expires_in_days})
        return CreatedApiKey.model_validate(await self._http.json("POST", "/v1/api-keys", json=body, replayable=False))

    async def list(self, *, tenant: Optional[str] = None) -> List[ApiKey]:
        return [ApiKey.model_validate(k) for k in (await self._http.json("GET", "/v1/api-keys", params={"tenant": tenant}))["items"]]

    async def revoke(self, key_id: str) -> ApiKey:
        return ApiKey.model_validate(await self._http.json("DELETE", f"/v1/api-keys/{seg(key_id)}"))


class AsyncSandbox:
    """The sandbox platform's API.

    ``api_key`` and ``base_url`` default to ``SANDBOX_API_KEY`` and ``SANDBOX_URL``. Calls are retried
    up to ``max_retries`` times on 429 and 503 (after ``Retry-After``, if at most ``max_retry_delay``
    seconds) and on network errors when doing them twice is harmless.
    """

    def __init__(
        self,
        api_key: Optional[str] = None,
        base_url: Optional[str] = None,
        *,
        timeout: Optional[float] = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        max_retry_delay: float = DEFAULT_MAX_RETRY_DELAY,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        headers: Optional[Mapping[str, str]] = None,
        transport: Optional[httpx.AsyncBaseTransport] = None,
        http_client: Optional[httpx.AsyncClient] = None,
    ) -> None:
        self.settings = Settings.resolve(api_key, base_url, timeout, max_retries, max_retry_delay, poll_interval, headers)
        self._http = _Http(self.settings, transport, http_client)
        self.sessions = AsyncSessions(self._http)
        self.executions = AsyncExecutions(self._http)
        self.templates = AsyncTemplates(self._http)
        self.runtimes = AsyncRuntimes(self._http)
        self.nodes = AsyncNodes(self._http)
        self.keys = AsyncApiKeys(self._http)

    @property
    def base_url(self) -> str:
        return self.settings.base_url

    async def close(self) -> None:
        await self._http.close()

    async def __aenter__(self) -> "AsyncSandbox":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()
