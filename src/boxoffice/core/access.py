"""Who may call a route is part of its signature.

Every route depends on exactly one *access policy*: a dependency marked with
:func:`access_policy`. The authorization-matrix test walks the app's routes and fails for any
route that has none, so a new route cannot ship without stating who may call it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])
POLICY_ATTRIBUTE = "__access_policy__"


def access_policy(name: str) -> Callable[[F], F]:
    def mark(function: F) -> F:
        setattr(function, POLICY_ATTRIBUTE, name)
        return function

    return mark


def policy_of(function: Any) -> str | None:
    return getattr(function, POLICY_ATTRIBUTE, None)


@access_policy("public")
async def public() -> None:
    """Anyone, signed in or not."""
