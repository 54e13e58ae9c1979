"""Errors: what the API answered (``SandboxApiError`` and a subclass per status) and what the client saw."""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Type

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError as _PydanticValidationError


class ErrorDetail(BaseModel):
    """One item of ``error.details``: usually the field at fault and what to fix; more keys may come."""

    model_config = ConfigDict(extra="allow")

    field: Optional[str] = None
    message: str = ""


class ApiErrorBody(BaseModel):
    """The API's error shape: ``{"error": {"code", "message", "details"}}``."""

    model_config = ConfigDict(extra="allow")

    code: str
    message: str
    details: List[ErrorDetail] = []


class SandboxError(Exception):
    """Base of every error this SDK raises."""


class SandboxConnectionError(SandboxError):
    """The API could not be reached (or the connection broke) and the request was not retried, or not any more."""


class SandboxTimeoutError(SandboxError):
    """A client-side wait (for a session to run, an execution to end) ran out."""


class SessionNotRunningError(SandboxError):
    """A session being waited for ended (failed, terminated, ...) instead of running."""

    def __init__(self, session: Any) -> None:
        self.session = session
        reason = f" ({session.error_code}: {session.error})" if getattr(session, "error", None) else ""
        super().__init__(f"session {session.id} is {session.status}{reason}")


class SandboxApiError(SandboxError):
    """The API answered with an error status. ``code`` is stable and machine readable."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: Optional[List[ErrorDetail]] = None,
        *,
        headers: Optional[Mapping[str, str]] = None,
        body: Any = None,
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.details: List[ErrorDetail] = list(details or [])
        self.headers: Dict[str, str] = dict(headers or {})
        self.body = body
        super().__init__(f"{status} {code}: {message}")

    @property
    def error(self) -> ApiErrorBody:
        return ApiErrorBody(code=self.code, message=self.message, details=self.details)

    @property
    def retry_after(self) -> Optional[float]:
        """Seconds the API asked to wait before retrying (``Retry-After``), if it said."""
        return parse_retry_after(self.headers.get("retry-after"))


class BadRequestError(SandboxApiError):
    """400"""


class AuthenticationError(SandboxApiError):
    """401: no key, an unknown, expired or revoked key."""


class PermissionDeniedError(SandboxApiError):
    """403: the key's scope does not allow it (e.g. admin routes with a tenant key)."""


class NotFoundError(SandboxApiError):
    """404"""


class ConflictError(SandboxApiError):
    """409: e.g. ``session_ended``, ``too_many_contexts``, ``node_state``."""


class GoneError(SandboxApiError):
    """410: e.g. an artifact replaced since."""


class PayloadTooLargeError(SandboxApiError):
    """413"""


class ValidationError(SandboxApiError):
    """422: ``validation_failed`` (``details`` names the fields), ``idempotency_key_reused``, ``unsupported_language``."""


class RateLimitedError(SandboxApiError):
    """429: rate limit or a cap (``rate_limited``, ``too_many_pending``, ...); ``retry_after`` says when to retry."""


class InternalServerError(SandboxApiError):
    """500"""


class ServiceUnavailableError(SandboxApiError):
    """503: e.g. ``capacity_exhausted``, ``database_unavailable``; ``retry_after`` says when to retry."""


_BY_STATUS: Dict[int, Type[SandboxApiError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    410: GoneError,
    413: PayloadTooLargeError,
    422: ValidationError,
    429: RateLimitedError,
    500: InternalServerError,
    503: ServiceUnavailableError,
}


def parse_retry_after(value: Optional[str]) -> Optional[float]:
    """``Retry-After`` in seconds (the API sends seconds; an HTTP date is not expected and ignored)."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return max(0.0, seconds)


def error_from_response(response: httpx.Response, content: Optional[bytes] = None) -> SandboxApiError:
    """The typed error of an error answer; ``content`` is its body when already read."""
    raw = content if content is not None else response.content
    body: Any = None
    code, message, details = f"http_{response.status_code}", response.reason_phrase or "error", []
    try:
        import json

        body = json.loads(raw) if raw else None
    except ValueError:
        body = raw.decode("utf-8", "replace") if raw else None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        try:
            parsed = ApiErrorBody.model_validate(body["error"])
            code, message, details = parsed.code, parsed.message, parsed.details
        except _PydanticValidationError:
            pass
    elif isinstance(body, str) and body:
        message = body[:500]
    cls = _BY_STATUS.get(response.status_code)
    if cls is None:
        cls = InternalServerError if response.status_code >= 500 else SandboxApiError
    return cls(response.status_code, code, message, details, headers=dict(response.headers), body=body)
