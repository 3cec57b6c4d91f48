"""The dead-letter store for platform administrators."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status
from sqlalchemy.ext.asyncio import AsyncSession

from boxoffice.accounts.auth import CurrentUser
from boxoffice.accounts.models import User
from boxoffice.core.access import access_policy
from boxoffice.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from boxoffice.core.pagination import Page, PageOf, decode_key, encode_key, page_envelope
from boxoffice.core.routing import API_PREFIX
from boxoffice.core.timestamps import parse_aware_iso, utcnow
from boxoffice.db.session import ReadSession, WriteSession
from boxoffice.jobs import deadletters
from boxoffice.jobs.models import DeadJob
from boxoffice.jobs.schemas import DeadJobRead, DeadJobSummary, PurgedJobs, RequeuedJob

router = APIRouter(prefix=f"{API_PREFIX}/admin/jobs", tags=["admin: jobs"])


@access_policy("platform-admin")
async def platform_admin(user: CurrentUser) -> User:
    if not user.is_platform_admin:
        raise Forbidden("platform administrators only")
    return user


PlatformAdmin = Annotated[User, Depends(platform_admin)]


class JobAlreadyRequeued(Conflict):
    slug = "job-already-requeued"
    title = "This dead job was requeued already"


async def _dead(session: AsyncSession, job_id: uuid.UUID) -> DeadJob:
    dead = await session.get(DeadJob, job_id)
    if dead is None:
        raise NotFound("no dead job with this id")
    return dead


@router.get(
    "/dead",
    response_model=PageOf[DeadJobSummary],
    summary="Jobs that failed all their retries, newest first",
)
async def list_dead_jobs(
    _: PlatformAdmin,
    session: ReadSession,
    page: Page,
    job: Annotated[str | None, Query(max_length=100, description="Only this job")] = None,
    include_requeued: Annotated[bool, Query(description="Also entries already requeued")] = False,
) -> dict[str, object]:
    after = decode_key(page.cursor, (parse_aware_iso, uuid.UUID))
    rows = await deadletters.page(
        session,
        limit=page.limit + 1,
        after=after,
        job=job,
        include_requeued=include_requeued,
    )
    more = len(rows) > page.limit
    rows = rows[: page.limit]
    cursor = encode_key((rows[-1].failed_at, rows[-1].id)) if more else None
    return page_envelope(
        [DeadJobSummary.model_validate(row).model_dump(mode="json") for row in rows], cursor
    )


@router.get("/dead/{job_id}", response_model=DeadJobRead, summary="One dead job, with its error")
async def get_dead_job(_: PlatformAdmin, session: ReadSession, job_id: uuid.UUID) -> DeadJobRead:
    return DeadJobRead.model_validate(await _dead(session, job_id))


@router.post(
    "/dead/{job_id}/requeue",
    response_model=RequeuedJob,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Run a dead job again, with fresh retries",
    responses={409: {"description": "Requeued already"}},
)
async def requeue_dead_job(
    _: PlatformAdmin, session: WriteSession, job_id: uuid.UUID
) -> RequeuedJob:
    dead = await _dead(session, job_id)
    try:
        new_id = await deadletters.requeue(session, dead, now=utcnow())
    except deadletters.AlreadyRequeued:
        raise JobAlreadyRequeued(f"requeued as {dead.requeued_as}") from None
    return RequeuedJob(id=dead.id, requeued_as=new_id)


@router.delete(
    "/dead/{job_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Purge one dead job",
)
async def purge_dead_job(_: PlatformAdmin, session: WriteSession, job_id: uuid.UUID) -> None:
    await _dead(session, job_id)
    await deadletters.purge(session, ids=[job_id])


@router.delete("/dead", response_model=PurgedJobs, summary="Purge dead jobs")
async def purge_dead_jobs(
    _: PlatformAdmin,
    session: WriteSession,
    before: Annotated[
        datetime | None, Query(description="Only those that failed before this instant")
    ] = None,
) -> PurgedJobs:
    if before is not None and before.tzinfo is None:
        raise ValidationFailed("before", "needs a time zone offset")
    return PurgedJobs(purged=await deadletters.purge(session, before=before))
