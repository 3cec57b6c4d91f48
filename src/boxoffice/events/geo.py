"""Great-circle distance in SQL for both engines, plus a bounding box that an index can use.

PostgreSQL computes the haversine formula with its built-in functions; SQLite calls
:func:`haversine_km`, registered on each connection (not every SQLite build has math functions).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Float, SQLColumnExpression, func, literal

EARTH_RADIUS_KM = 6371.0088
SQLITE_FUNCTION = "bo_distance_km"


def haversine_km(lat1: float | None, lon1: float | None, lat2: float, lon2: float) -> float | None:
    if lat1 is None or lon1 is None:
        return None
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_phi = phi2 - phi1
    d_lambda = math.radians(lon2 - lon1)
    a = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def distance_km(
    dialect: str,
    lat: SQLColumnExpression[float | None],
    lon: SQLColumnExpression[float | None],
    *,
    to: tuple[float, float],
) -> ColumnElement[float]:
    lat0, lon0 = to
    if dialect == "sqlite":
        return func.bo_distance_km(lat, lon, lat0, lon0, type_=Float)
    phi1 = func.radians(lat)
    phi2 = math.radians(lat0)
    a = func.power(func.sin((literal(phi2) - phi1) / 2), 2) + func.cos(phi1) * math.cos(
        phi2
    ) * func.power(func.sin((literal(math.radians(lon0)) - func.radians(lon)) / 2), 2)
    return (2 * EARTH_RADIUS_KM * func.asin(func.least(1.0, func.sqrt(a)))).cast(Float)


@dataclass(frozen=True, slots=True)
class BoundingBox:
    min_lat: float
    max_lat: float
    min_lon: float
    max_lon: float
    wraps: bool  # the box crosses the antimeridian; longitude is then not a usable filter


def bounding_box(lat: float, lon: float, radius_km: float) -> BoundingBox:
    d_lat = math.degrees(radius_km / EARTH_RADIUS_KM)
    min_lat, max_lat = lat - d_lat, lat + d_lat
    if min_lat <= -90 or max_lat >= 90:
        return BoundingBox(max(min_lat, -90), min(max_lat, 90), -180, 180, wraps=True)
    d_lon = math.degrees(radius_km / (EARTH_RADIUS_KM * math.cos(math.radians(lat))))
    min_lon, max_lon = lon - d_lon, lon + d_lon
    wraps = min_lon < -180 or max_lon > 180
    return BoundingBox(min_lat, max_lat, min_lon, max_lon, wraps=wraps)
