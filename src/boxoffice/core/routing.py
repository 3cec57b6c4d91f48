"""Route assembly.

Domain routers carry the full ``/api/v1`` prefix themselves and their routes are added to the
application as they are, so every ``APIRoute`` in ``app.routes`` has its public path: metrics
label requests by that template and the authorization-matrix test can walk the route table.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

API_PREFIX = "/api/v1"


def add_routes(app: FastAPI, *routers: APIRouter) -> None:
    for router in routers:
        app.router.routes.extend(router.routes)
