"""The API's resources as pydantic models. Unknown fields are kept (``extra="allow"``) so a newer API
does not break an older client; enums are plain strings for the same reason."""

from __future__ import annotations

import base64
import json
from typing import Any, ClassVar, Dict, List, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict

SESSION_LIVE_STATUSES = ("creating", "running")
EXECUTION_UNFINISHED_STATUSES = ("pending", "running")


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


# ---------------------------------------------------------------- sessions


class Placement(_Model):
    state: str
    position: Optional[int] = None
    waiting_since: Optional[str] = None
    gives_up_at: Optional[str] = None


class Session(_Model):
    id: str
    template_id: str
    tenant: str
    status: str  # creating | running | completed | failed | timeout | terminated
    runtime_type: Optional[str] = None
    runtime_node: Optional[str] = None
    container_id: Optional[str] = None
    pod_name: Optional[str] = None
    workspace_path: Optional[str] = None
    resources_cpu: Optional[str] = None
    resources_memory: Optional[str] = None
    resources_disk: Optional[str] = None
    env_vars: List[str] = []
    timeout: Optional[float] = None
    error: Optional[str] = None
    error_code: Optional[str] = None
    placement: Optional[Placement] = None
    last_activity_at: Optional[str] = None
    created_at: Optional[str] = None
    updated_at: Optional[str] = None
    completed_at: Optional[str] = None

    @property
    def is_live(self) -> bool:
        return self.status in SESSION_LIVE_STATUSES


class SessionPage(_Model):
    items: List[Session]
    next_cursor: Optional[str] = None


# ---------------------------------------------------------------- executions


class Usage(_Model):
    wall_ms: float
    cpu_ms: float
    peak_memory_bytes: int
    stdout_bytes: int
    stderr_bytes: int
    signal: Optional[str] = None


class Attempt(_Model):
    attempt: int
    node: Optional[str] = None
    started_at: Optional[str] = None
    ended_at: Optional[str] = None
    outcome: Optional[str] = None


class Artifact(_Model):
    path: str
    size: int
    mime_type: str
    sha256: str


class CollectedFile(Artifact):
    content_base64: Optional[str] = None

    @property
    def content(self) -> Optional[bytes]:
        return None if self.content_base64 is None else base64.b64decode(self.content_base64)


class SkippedArtifact(_Model):
    path: str
    size: Optional[int] = None
    reason: str


class SkippedArtifacts(_Model):
    count: int
    items: List[SkippedArtifact] = []


class StoredRepresentation(_Model):
    url: str
    size: int


class RichResult(_Model):
    kind: str  # value | display
    data: Dict[str, str] = {}
    stored: Dict[str, StoredRepresentation] = {}

    @property
    def text(self) -> Optional[str]:
        return self.data.get("text/plain")


class ContextState(_Model):
    started: Optional[str] = None
    reset: Optional[str] = None


class InputFileInfo(_Model):
    path: str
    size: int


class TestCaseDiff(_Model):
    __test__: ClassVar[bool] = False  # not a pytest test class
    at: str
    index: int
    expected: Optional[str] = None
    actual: Optional[str] = None


class TestCaseResult(_Model):
    __test__: ClassVar[bool] = False  # not a pytest test class
    verdict: str
    exit_code: Optional[int] = None
    signal: Optional[str] = None
    stdout: str = ""
    stderr: str = ""
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    wall_ms: float = 0
    cpu_ms: float = 0
    peak_memory_bytes: int = 0
    timeout: Optional[float] = None
    diff: Optional[TestCaseDiff] = None


class TestSummary(_Model):
    __test__: ClassVar[bool] = False  # not a pytest test class
    passed: int
    total: int
    ran: int
    verdicts: Dict[str, int] = {}


class TestResults(_Model):
    __test__: ClassVar[bool] = False  # not a pytest test class
    compare: str
    summary: TestSummary
    cases: List[TestCaseResult] = []


class ExecutionSummary(_Model):
    """An execution as lists give it: without code, input and output."""

    id: str
    session_id: str
    language: str
    status: str  # pending | running | completed | failed | timeout | crashed
    timeout: Optional[float] = None
    exit_code: Optional[int] = None
    execution_time: Optional[float] = None
    error: Optional[str] = None
    reason: Optional[str] = None
    context_id: Optional[str] = None
    usage: Optional[Usage] = None
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    retry_count: int = 0
    attempt: int = 1
    attempts: List[Attempt] = []
    runtime_node: Optional[str] = None
    created_at: Optional[str] = None
    started_at: Optional[str] = None
    completed_at: Optional[str] = None
    last_heartbeat_at: Optional[str] = None

    @property
    def is_terminal(self) -> bool:
        return self.status not in EXECUTION_UNFINISHED_STATUSES


class Execution(ExecutionSummary):
    """An execution as ``GET /v1/executions/{id}`` gives it."""

    code: str = ""
    args: Optional[List[str]] = None
    encoding: str = "utf8"
    stdin: Optional[str] = None
    stdout: Optional[str] = None
    stderr: Optional[str] = None
    files: Optional[List[InputFileInfo]] = None
    collect: Optional[List[str]] = None
    artifacts: Optional[List[Artifact]] = None
    collected: Optional[List[CollectedFile]] = None
    skipped_artifacts: Optional[SkippedArtifacts] = None
    results: List[RichResult] = []
    results_note: Optional[str] = None
    context: Optional[ContextState] = None
    callback_url: Optional[str] = None
    webhook_state: Optional[str] = None
    compile_output: Optional[str] = None
    test_results: Optional[TestResults] = None

    @property
    def value(self) -> Optional[RichResult]:
        """A cell's value: its last expression (``results`` of kind ``value``)."""
        return next((r for r in self.results if r.kind == "value"), None)

    @property
    def stdout_bytes(self) -> bytes:
        """stdout as bytes, whatever the encoding asked."""
        return _decode(self.stdout, self.encoding)

    @property
    def stderr_bytes(self) -> bytes:
        return _decode(self.stderr, self.encoding)


class ExecutionPage(_Model):
    items: List[ExecutionSummary]
    next_cursor: Optional[str] = None


def _decode(text: Optional[str], encoding: str) -> bytes:
    if text is None:
        return b""
    return base64.b64decode(text) if encoding == "base64" else text.encode("utf-8")


class InputFile(_Model):
    """A file written into the workspace before the run: text, or bytes (sent as base64)."""

    path: str
    content: str
    encoding: Optional[Literal["utf8", "base64"]] = None

    @classmethod
    def of(cls, path: str, content: Union[str, bytes]) -> "InputFile":
        if isinstance(content, bytes):
            return cls(path=path, content=base64.b64encode(content).decode("ascii"), encoding="base64")
        return cls(path=path, content=content)


class TestCase(_Model):
    __test__: ClassVar[bool] = False  # not a pytest test class
    stdin: str = ""
    expected_output: Optional[str] = None
    args: Optional[List[str]] = None
    timeout: Optional[int] = None


# ---------------------------------------------------------------- streaming


class StreamEvent(_Model):
    """One Server-Sent Event of an execution's stream.

    ``type``: ``execution`` (the execution as it is now), ``attempt`` (``{attempt}``: output of an
    earlier attempt is void), ``stdout`` / ``stderr`` (``{data}``: a piece of output), ``result`` (the
    execution as GET answers it; the stream ends). ``id`` is set on output events.
    """

    type: str
    data: Any = None
    id: Optional[str] = None

    @property
    def text(self) -> Optional[str]:
        """The output piece of a ``stdout``/``stderr`` event."""
        if isinstance(self.data, dict) and isinstance(self.data.get("data"), str):
            return self.data["data"]
        return None

    @property
    def execution(self) -> Optional[Execution]:
        """The execution of an ``execution`` or ``result`` event."""
        if self.type in ("execution", "result") and isinstance(self.data, dict):
            return Execution.model_validate(self.data)
        return None

    @classmethod
    def parse(cls, event: str, data: str, id: Optional[str]) -> "StreamEvent":
        try:
            value: Any = json.loads(data) if data else None
        except ValueError:
            value = data
        return cls(type=event, data=value, id=id)


# ---------------------------------------------------------------- contexts


class Context(_Model):
    id: str
    session_id: str
    language: str
    status: str  # active | lost
    generation: int = 0
    created_at: Optional[str] = None
    updated_at: Optional[str] = None


class ContextList(_Model):
    items: List[Context]


# ---------------------------------------------------------------- files


class FileInfo(_Model):
    path: str
    size: int
    mime_type: str
    etag: str
    last_modified: Optional[str] = None
    sha256: Optional[str] = None  # given by uploads


class FileList(_Model):
    items: List[FileInfo]
    next_cursor: Optional[str] = None


class PresignedUrl(_Model):
    url: str
    expires_at: str


# ---------------------------------------------------------------- templates and runtimes


class OfferedRuntime(_Model):
    language: str
    version: Optional[str] = None
    runtime: Optional[str] = None
    aliases: List[str] = []
    compiled: bool = False


class Template(_Model):
    id: str
    name: str
    image: str
    base_image: Optional[str] = None
    language: str
    languages: List[str] = []
    runtimes: List[OfferedRuntime] = []
    pre_installed_packages: List[str] = []
    default_resources_cpu: Optional[str] = None
    default_resources_memory: Optional[str] = None
    default_resources_disk: Optional[str] = None
    limits: Dict[str, Union[str, float, bool]] = {}
    created_at: Optional[str] = None
    updated_at: Optional[str] = None


class Runtime(OfferedRuntime):
    template_id: str


# ---------------------------------------------------------------- nodes and keys (admin)


class NodeBudget(_Model):
    memory_bytes: float
    cpus: float
    free_memory_bytes: float
    free_cpus: float
    free_sessions: int


class Node(_Model):
    id: str
    hostname: str
    version: str
    status: str  # online | draining | offline
    capacity: int
    running: int
    sessions: int
    budget: Optional[NodeBudget] = None
    labels: Dict[str, str] = {}
    last_heartbeat_at: Optional[str] = None
    heartbeat_age_seconds: Optional[float] = None
    stale: bool = False
    started_at: Optional[str] = None


class ApiKey(_Model):
    id: str
    prefix: str
    name: str
    scope: str  # admin | tenant
    tenant: str
    created_by: Optional[str] = None
    expires_at: Optional[str] = None
    revoked_at: Optional[str] = None
    last_used_at: Optional[str] = None
    created_at: Optional[str] = None


class CreatedApiKey(ApiKey):
    key: str
    """The secret: shown this once only."""
