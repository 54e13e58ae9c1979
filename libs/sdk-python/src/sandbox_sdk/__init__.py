"""Python SDK of the sandbox platform's REST API (``/v1``).

    from sandbox_sdk import Sandbox

    with Sandbox() as sbx:                      # SANDBOX_API_KEY, SANDBOX_URL
        with sbx.sessions.create(template="python-basic") as s:
            print(s.run("print(1)").stdout)

``AsyncSandbox`` is the same surface with ``await``/``async for``/``async with``.
"""

from ._async import (
    AsyncApiKeys,
    AsyncContexts,
    AsyncDownload,
    AsyncExecutions,
    AsyncExecutionStream,
    AsyncFiles,
    AsyncNodes,
    AsyncRuntimes,
    AsyncSandbox,
    AsyncSandboxSession,
    AsyncSessions,
    AsyncTemplates,
)
from ._errors import (
    ApiErrorBody,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    ErrorDetail,
    GoneError,
    InternalServerError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitedError,
    SandboxApiError,
    SandboxConnectionError,
    SandboxError,
    SandboxTimeoutError,
    ServiceUnavailableError,
    SessionNotRunningError,
    ValidationError,
)
from ._models import (
    ApiKey,
    Artifact,
    Attempt,
    CollectedFile,
    Context,
    ContextList,
    ContextState,
    CreatedApiKey,
    Execution,
    ExecutionPage,
    ExecutionSummary,
    FileInfo,
    FileList,
    InputFile,
    Node,
    NodeBudget,
    OfferedRuntime,
    Placement,
    PresignedUrl,
    RichResult,
    Runtime,
    Session,
    SessionPage,
    StreamEvent,
    Template,
    TestCase,
    TestResults,
    Usage,
)
from ._sync import ApiKeys, Contexts, Download, Executions, ExecutionStream, Files, Nodes, Runtimes, Sandbox, SandboxSession, Sessions, Templates

__version__ = "0.1.0"

__all__ = [
    "Sandbox", "AsyncSandbox", "SandboxSession", "AsyncSandboxSession", "Sessions", "AsyncSessions", "Executions", "AsyncExecutions",
    "ExecutionStream", "AsyncExecutionStream", "Contexts", "AsyncContexts", "Files", "AsyncFiles", "Download", "AsyncDownload",
    "Templates", "AsyncTemplates", "Runtimes", "AsyncRuntimes", "Nodes", "AsyncNodes", "ApiKeys", "AsyncApiKeys",
    "SandboxError", "SandboxApiError", "SandboxConnectionError", "SandboxTimeoutError", "SessionNotRunningError", "ApiErrorBody", "ErrorDetail",
    "BadRequestError", "AuthenticationError", "PermissionDeniedError", "NotFoundError", "ConflictError", "GoneError", "PayloadTooLargeError",
    "ValidationError", "RateLimitedError", "InternalServerError", "ServiceUnavailableError",
    "Session", "SessionPage", "Placement", "Execution", "ExecutionSummary", "ExecutionPage", "Usage", "Attempt", "Artifact", "CollectedFile",
    "RichResult", "ContextState", "TestResults", "TestCase", "InputFile", "StreamEvent", "Context", "ContextList", "FileInfo", "FileList",
    "PresignedUrl", "Template", "OfferedRuntime", "Runtime", "Node", "NodeBudget", "ApiKey", "CreatedApiKey",
]  # fmt: skip
