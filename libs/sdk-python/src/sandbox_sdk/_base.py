"""What the sync and the async client share: settings, the retry policy, paths, request bodies, SSE."""

from __future__ import annotations

import os
import random
import uuid
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union
from urllib.parse import quote

import httpx

from ._errors import SandboxError, parse_retry_after
from ._models import InputFile, StreamEvent, TestCase

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
DEFAULT_TIMEOUT = 60.0
DEFAULT_MAX_RETRIES = 3
DEFAULT_MAX_RETRY_DELAY = 30.0
DEFAULT_POLL_INTERVAL = 0.5
DEFAULT_SESSION_READY_TIMEOUT = 300.0
CHUNK_SIZE = 64 * 1024

RETRY_STATUSES = frozenset({429, 503})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})

try:  # the package's own version, for the User-Agent
    from importlib.metadata import version as _version

    _SDK_VERSION = _version("sandbox-sdk")
except Exception:  # noqa: BLE001 - not installed as a distribution (e.g. run from a checkout): no version to tell
    _SDK_VERSION = "0"


@dataclass(frozen=True)
class Settings:
    api_key: str
    base_url: str
    timeout: float
    max_retries: int
    max_retry_delay: float
    poll_interval: float
    headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def resolve(
        cls,
        api_key: Optional[str],
        base_url: Optional[str],
        timeout: Optional[float],
        max_retries: int,
        max_retry_delay: float,
        poll_interval: float,
        headers: Optional[Mapping[str, str]],
    ) -> "Settings":
        key = api_key or os.environ.get("SANDBOX_API_KEY")
        if not key:
            raise SandboxError("no API key: pass api_key=... or set SANDBOX_API_KEY")
        url = (base_url or os.environ.get("SANDBOX_URL") or DEFAULT_BASE_URL).rstrip("/")
        if url.endswith("/v1"):
            url = url[: -len("/v1")]
        if max_retries < 0:
            raise ValueError("max_retries must be 0 or more")
        return cls(
            api_key=key,
            base_url=url,
            timeout=DEFAULT_TIMEOUT if timeout is None else timeout,
            max_retries=max_retries,
            max_retry_delay=max_retry_delay,
            poll_interval=poll_interval,
            headers=dict(headers or {}),
        )

    def client_headers(self) -> Dict[str, str]:
        return {
            "authorization": f"Bearer {self.api_key}",
            "user-agent": f"sandbox-sdk-python/{_SDK_VERSION}",
            "accept": "application/json",
            **self.headers,
        }

    def wait_ms(self) -> Optional[int]:
        """How long to ask the server to hold a ``?wait=true`` request: within the client's read timeout."""
        if self.timeout is None or self.timeout <= 0:
            return None
        return max(1000, int((self.timeout - 5) * 1000)) if self.timeout > 6 else 1000


def new_idempotency_key() -> str:
    return str(uuid.uuid4())


def seg(value: str) -> str:
    """One path segment (an id), percent-escaped."""
    return quote(str(value), safe="")


def file_path(path: str) -> str:
    """A workspace path: each '/'-separated segment percent-escaped, the slashes kept."""
    return "/".join(quote(p, safe="") for p in str(path).lstrip("/").split("/"))


def retry_delay(attempt: int, response: Optional[httpx.Response], max_delay: float) -> Optional[float]:
    """Seconds to wait before retry number ``attempt`` (0-based), or None not to retry: a Retry-After
    past ``max_delay`` is not shortened (it would only be refused again): the error goes to the caller."""
    if response is not None:
        after = parse_retry_after(response.headers.get("retry-after"))
        if after is not None:
            return after if after <= max_delay else None
    backoff = min(max_delay, 0.5 * (2**attempt))
    return backoff * (0.5 + random.random() / 2)


def network_retryable(error: httpx.TransportError, method: str, keyed: bool, replayable_body: bool) -> bool:
    """A connection that never opened sent nothing: safe to retry always (with a body that can be sent
    again). Other network errors may hide a request that was carried out: retried only when doing it
    twice is harmless (idempotent method, or a POST with an Idempotency-Key)."""
    if not replayable_body:
        return False
    if isinstance(error, (httpx.ConnectError, httpx.ConnectTimeout)):
        return True
    return keyed or method in IDEMPOTENT_METHODS


def drop_none(d: Mapping[str, Any]) -> Dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


def execution_body(
    code: str,
    *,
    language: Optional[str],
    stdin: Optional[str],
    timeout: Optional[int],
    env: Optional[Mapping[str, str]],
    context_id: Optional[str],
    args: Optional[Sequence[str]],
    encoding: Optional[str],
    files: Optional[Sequence[Union[InputFile, Mapping[str, Any]]]],
    collect: Optional[Sequence[str]],
    test_cases: Optional[Sequence[Union[TestCase, Mapping[str, Any]]]],
    compare: Optional[str],
    callback_url: Optional[str],
) -> Dict[str, Any]:
    def dump(items: Optional[Sequence[Any]]) -> Optional[List[Any]]:
        if items is None:
            return None
        return [i.model_dump(exclude_none=True) if hasattr(i, "model_dump") else dict(i) for i in items]

    return drop_none(
        {
            "code": code,
            "language": language,
            "stdin": stdin,
            "timeout": timeout,
            "env": dict(env) if env is not None else None,
            "context_id": context_id,
            "args": list(args) if args is not None else None,
            "encoding": encoding,
            "files": dump(files),
            "collect": list(collect) if collect is not None else None,
            "test_cases": dump(test_cases),
            "compare": compare,
            "callback_url": callback_url,
        }
    )


class SseDecoder:
    """Server-Sent Events from lines (``text/event-stream``); comments and ``retry:`` are skipped."""

    def __init__(self) -> None:
        self._event: Optional[str] = None
        self._data: List[str] = []
        self._id: Optional[str] = None

    def feed(self, line: str) -> Optional[StreamEvent]:
        if line == "":
            if not self._data and self._event is None:
                return None
            event = StreamEvent.parse(self._event or "message", "\n".join(self._data), self._id)
            self._event, self._data, self._id = None, [], None
            return event
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id":
            self._id = value
        return None


class StreamState:
    """Where a followed execution stream stands: its execution, the last event id, whether it ended."""

    def __init__(self) -> None:
        self.execution_id: Optional[str] = None
        self.last_event_id: Optional[str] = None
        self.result: Optional[Any] = None
        self.done = False

    def see(self, event: StreamEvent) -> None:
        if event.id:
            self.last_event_id = event.id
        if event.type in ("execution", "result") and isinstance(event.data, dict) and event.data.get("id"):
            self.execution_id = str(event.data["id"])
        if event.type == "result":
            self.result = event.execution
            self.done = True

    def take_location(self, response: httpx.Response) -> None:
        location = response.headers.get("location")
        if location and self.execution_id is None:
            self.execution_id = location.rstrip("/").rsplit("/", 1)[-1]


STREAM_BROKEN = (httpx.TransportError,)
