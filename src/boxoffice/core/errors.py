"""Domain errors rendered as RFC 9457 problem documents.

Each domain declares its errors (in its own ``errors.py``) as subclasses of :class:`Problem`
named after the fact they report; one handler turns any of them into a response.
"""

from __future__ import annotations

from typing import Any, ClassVar

PROBLEM_BASE_URI = "https://boxoffice.dev/problems/"
PROBLEM_MEDIA_TYPE = "application/problem+json"


class Problem(Exception):
    """Base of every error that reaches the client."""

    status: ClassVar[int] = 400
    slug: ClassVar[str] = "bad-request"
    title: ClassVar[str] = "Bad request"
    # True when the request's writes must be committed even though it answers with this error
    # (e.g. revoking a stolen token family); normally an error rolls everything back.
    keeps_changes: ClassVar[bool] = False

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail
        self.extra = extra

    def to_document(self, instance: str | None = None) -> dict[str, Any]:
        document: dict[str, Any] = {
            "type": PROBLEM_BASE_URI + self.slug,
            "title": self.title,
            "status": self.status,
        }
        if self.detail:
            document["detail"] = self.detail
        if instance:
            document["instance"] = instance
        document.update(self.extra)
        return document


class NotFound(Problem):
    status = 404
    slug = "not-found"
    title = "Not found"


class Unauthorized(Problem):
    status = 401
    slug = "unauthorized"
    title = "Authentication required"


class Forbidden(Problem):
    status = 403
    slug = "forbidden"
    title = "Forbidden"


class Conflict(Problem):
    status = 409
    slug = "conflict"
    title = "Conflict"


class PayloadTooLarge(Problem):
    status = 413
    slug = "payload-too-large"
    title = "Payload too large"


class ValidationFailed(Problem):
    """A business-rule validation failure on named fields (422)."""

    status = 422
    slug = "validation-error"
    title = "Validation failed"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}", errors=[{"field": field, "message": message}])


class TooManyRequests(Problem):
    status = 429
    slug = "rate-limited"
    title = "Too many requests"

    def __init__(self, detail: str, *, retry_after: int, headers: dict[str, str]) -> None:
        super().__init__(detail)
        self.retry_after = retry_after
        self.headers = {**headers, "Retry-After": str(retry_after)}


class ServiceUnavailable(Problem):
    status = 503
    slug = "service-unavailable"
    title = "Service unavailable"


class IdempotentReplay(Exception):
    """Raised before a route runs when its Idempotency-Key already has a stored response:
    answer with that response (core/idempotency.py)."""

    def __init__(self, status_code: int, media_type: str, body: bytes) -> None:
        super().__init__(status_code)
        self.status_code = status_code
        self.media_type = media_type
        self.body = body
