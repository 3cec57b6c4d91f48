"""Every error leaves as an RFC 9457 problem document, FastAPI's own included."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from boxoffice.core.errors import (
    PROBLEM_BASE_URI,
    IdempotentReplay,
    PayloadTooLarge,
    Problem,
    TooManyRequests,
)
from boxoffice.core.json import ProblemResponse
from boxoffice.observability.logging import get_logger

_log = get_logger("boxoffice.errors")

_HTTP_SLUGS = {
    400: ("bad-request", "Bad request"),
    401: ("unauthorized", "Authentication required"),
    403: ("forbidden", "Forbidden"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    406: ("not-acceptable", "Not acceptable"),
    413: ("payload-too-large", "Payload too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
}


def _problem_response(problem: Problem, request: Request) -> Response:
    headers: dict[str, str] = dict(getattr(request.state, "rate_limit_headers", {}))
    if isinstance(problem, TooManyRequests):
        headers.update(problem.headers)
    if problem.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return ProblemResponse(
        problem.to_document(instance=request.url.path),
        status_code=problem.status,
        headers=headers,
    )


def _field_name(location: tuple[Any, ...]) -> str:
    parts = [str(part) for part in location]
    if parts and parts[0] in {"body", "query", "path", "header", "cookie"}:
        parts = parts[1:]
    return ".".join(parts) or "body"


def _message(error: dict[str, Any]) -> str:
    message = str(error.get("msg", "is invalid"))
    return message.removeprefix("Value error, ")


async def handle_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    return _problem_response(exc, request)


async def handle_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    if any(error.get("type") == "json_invalid" for error in errors):
        document = {
            "type": PROBLEM_BASE_URI + "malformed-json",
            "title": "Malformed JSON",
            "status": 422,
            "detail": "the request body is not valid JSON",
            "instance": request.url.path,
            "errors": [{"field": "body", "message": "is not valid JSON"}],
        }
        return ProblemResponse(document, status_code=422)
    fields = [
        {"field": _field_name(tuple(e.get("loc", ()))), "message": _message(e)} for e in errors
    ]
    document = {
        "type": PROBLEM_BASE_URI + "validation-error",
        "title": "Validation failed",
        "status": 422,
        "detail": "; ".join(f"{f['field']}: {f['message']}" for f in fields[:5]),
        "instance": request.url.path,
        "errors": fields,
    }
    return ProblemResponse(document, status_code=422)


async def handle_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if isinstance(exc.__cause__, PayloadTooLarge):
        return _problem_response(exc.__cause__, request)
    slug, title = _HTTP_SLUGS.get(exc.status_code, ("http-error", "HTTP error"))
    document: dict[str, Any] = {
        "type": PROBLEM_BASE_URI + slug,
        "title": title,
        "status": exc.status_code,
        "instance": request.url.path,
    }
    if isinstance(exc.detail, str) and exc.detail and exc.detail != title:
        document["detail"] = exc.detail
    return ProblemResponse(document, status_code=exc.status_code, headers=exc.headers)


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    _log.error("unhandled error", path=request.url.path, exc_info=exc)
    document = {
        "type": PROBLEM_BASE_URI + "internal-error",
        "title": "Internal server error",
        "status": 500,
        "detail": "something went wrong on our side; the request id identifies it in our logs",
        "instance": request.url.path,
    }
    return ProblemResponse(document, status_code=500)


async def handle_replay(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, IdempotentReplay)
    return Response(
        exc.body,
        status_code=exc.status_code,
        media_type=exc.media_type,
        headers={"Idempotent-Replayed": "true"},
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(IdempotentReplay, handle_replay)
    app.add_exception_handler(Problem, handle_problem)
    app.add_exception_handler(RequestValidationError, handle_validation_error)
    app.add_exception_handler(HTTPException, handle_http_exception)
    app.add_exception_handler(Exception, handle_unexpected)
