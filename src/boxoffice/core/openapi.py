"""OpenAPI details FastAPI cannot infer: stable operation ids and the problem documents each
route may answer with, derived from its access policy so they cannot drift from the code."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from pydantic import BaseModel

from boxoffice.core.access import policy_of
from boxoffice.core.errors import PROBLEM_MEDIA_TYPE


class ProblemDocument(BaseModel):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None


class FieldError(BaseModel):
    field: str
    message: str


class ValidationProblemDocument(ProblemDocument):
    errors: list[FieldError]


_PROBLEM = {"$ref": "#/components/schemas/ProblemDocument"}
_VALIDATION_PROBLEM = {"$ref": "#/components/schemas/ValidationProblemDocument"}
_DESCRIPTIONS = {
    401: "Missing, invalid or expired access token",
    403: "Visible, but the caller's role does not allow this",
    404: "Not found, or not visible to the caller",
    422: "Invalid input; `errors` names each field",
}


def _policies(dependant: Dependant) -> Iterator[str]:
    for dependency in dependant.dependencies:
        policy = policy_of(dependency.call)
        if policy is not None:
            yield policy
        yield from _policies(dependency)


def _takes_input(dependant: Dependant) -> bool:
    if dependant.query_params or dependant.path_params or dependant.body_params:
        return True
    return any(_takes_input(dependency) for dependency in dependant.dependencies)


def _problem_statuses(route: APIRoute) -> set[int]:
    statuses = {422} if _takes_input(route.dependant) else set()
    for policy in _policies(route.dependant):
        if policy != "public":
            statuses.add(401)  # a token that is sent must be valid, even where it is optional
        if policy.startswith(("organization:", "event-organization:", "ticket-type-")):
            statuses |= {403, 404}
    if route.path_regex.pattern.count("(?P<"):
        statuses.add(404)
    return statuses


def document_routes(app: FastAPI) -> None:
    for route in app.routes:
        if not isinstance(route, APIRoute):
            continue
        tag = str(route.tags[0]).replace(" ", "_") if route.tags else "operations"
        route.operation_id = route.operation_id or f"{tag}-{route.name}"
        for status in _problem_statuses(route):
            schema = _VALIDATION_PROBLEM if status == 422 else _PROBLEM
            documented = route.responses.setdefault(status, {})
            documented.setdefault("description", _DESCRIPTIONS[status])
            documented["content"] = {PROBLEM_MEDIA_TYPE: {"schema": schema}}
        for code, documented in route.responses.items():
            if int(code) >= 400 and "content" not in documented:
                documented["content"] = {PROBLEM_MEDIA_TYPE: {"schema": _PROBLEM}}


def build_openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
    )
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for model in (ProblemDocument, FieldError, ValidationProblemDocument):
        components[model.__name__] = model.model_json_schema(
            ref_template="#/components/schemas/{model}"
        )
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    app.openapi_schema = schema
    return schema
