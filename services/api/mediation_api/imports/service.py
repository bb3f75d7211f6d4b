"""Imports: store an uploaded file and queue its dry run; queue the commit of a valid one.
The work itself runs in the worker (mediation_worker.imports.jobs)."""

from __future__ import annotations

import hashlib
import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mediation.auth.principal import Principal
from mediation.auth.scope import in_scope
from mediation.clock import Clock
from mediation.errors import Conflict, Forbidden, NotFound, Unprocessable
from mediation.ids import uuid7
from mediation.imports import problems
from mediation.imports.contracts import ImportOut
from mediation.imports.enums import ImportKind, ImportStatus
from mediation.imports.events import ImportJobRequested
from mediation.imports.kinds import KINDS
from mediation.imports.models import ImportFile
from mediation.org.models import Unit
from mediation.outbox.events import emit
from mediation.stats.enums import JobKind
from mediation.stats.models import Job, queued_job
from mediation_api.shown import shown

NOT_FOUND = "No import with this id in your jurisdiction."


def import_out(imp: ImportFile) -> ImportOut:
    return shown(
        ImportOut,
        imp,
        problems=imp.problems or [],
        # Made when rows were read and some had problems (a file refused whole has none).
        annotated_href=(
            f"/api/v1/imports/{imp.id}/annotated" if imp.problem_count and imp.rows else None
        ),
    )


class ImportService:
    def __init__(self, session: AsyncSession, clock: Clock, principal: Principal) -> None:
        self.session, self.clock, self.principal = session, clock, principal

    async def get(self, import_id: uuid.UUID) -> ImportFile:
        imp = (
            await self.session.scalars(
                select(ImportFile).where(
                    ImportFile.id == import_id, in_scope(ImportFile.unit_path, self.principal)
                )
            )
        ).one_or_none()
        # Another importer sees it only with the right to read what it holds (`readers`): the
        # same answer as for an id outside the jurisdiction, which names nothing.
        p = self.principal
        if imp is None or (
            imp.uploaded_by_id != p.id and not KINDS[imp.kind].readers <= p.permissions
        ):
            raise NotFound(NOT_FOUND)
        return imp

    async def annotated(self, import_id: uuid.UUID) -> bytes:
        imp = await self.get(import_id)
        data = await self.session.scalar(
            select(ImportFile.annotated).where(ImportFile.id == imp.id)
        )
        if data is None:
            raise NotFound("This import has no problems to mark (or is not validated yet).")
        return data

    async def upload(self, kind: ImportKind, filename: str, content: bytes) -> ImportFile:
        p = self.principal
        if not content:
            raise Unprocessable("The file is empty.", field="body", code=problems.IMPORT_FILE_EMPTY)
        home = (
            await self.session.scalars(
                select(Unit).where(Unit.path.in_(p.scope_paths)).order_by(Unit.path)
            )
        ).first()
        if home is None:
            raise Forbidden("You have no jurisdiction to import into.")
        now = self.clock.now()
        imp = ImportFile(
            id=uuid7(),
            kind=kind,
            status=ImportStatus.validating,
            filename=filename,
            sha256=hashlib.sha256(content).hexdigest(),
            size=len(content),
            content=content,
            unit_id=home.id,
            unit_path=home.path,
            scope_paths=list(p.scope_paths),
            uploaded_by_id=p.id,
            uploaded_by_name=p.client_id or p.name,
            created_at=now,
            updated_at=now,
        )
        self.session.add(imp)
        await self.session.flush()
        job = await self._job(imp, JobKind.import_validate)
        imp.validate_job_id = job.id
        return imp

    async def commit(self, import_id: uuid.UUID) -> tuple[ImportFile, Job]:
        imp = await self.get(import_id)
        if imp.commit_job_id is not None:  # asked before: the same job
            job = await self.session.get(Job, imp.commit_job_id)
            assert job is not None
            return imp, job
        if imp.status is ImportStatus.validating:
            raise Conflict(
                "The file is still being validated: poll its job, then commit.",
                code=problems.IMPORT_NOT_VALIDATED,
            )
        if imp.status is not ImportStatus.valid:
            raise Conflict(
                "The file has problems (see `problems` or the annotated sheet): nothing can be "
                "imported from it. Correct it and upload it again.",
                code=problems.IMPORT_HAS_PROBLEMS,
            )
        job = await self._job(imp, JobKind.import_commit)
        imp.commit_job_id = job.id
        imp.status = ImportStatus.committing
        imp.updated_at = self.clock.now()
        return imp, job

    async def _job(self, imp: ImportFile, kind: JobKind) -> Job:
        p, now = self.principal, self.clock.now()
        job = Job(
            **queued_job(
                kind,
                unit_id=imp.unit_id,
                unit_path=imp.unit_path,
                requested_by=p.requester,
                now=now,
                import_id=imp.id,
            )
        )
        self.session.add(job)
        await self.session.flush()
        # Also the audit trail: who asked to validate or import which file, when.
        await emit(
            self.session,
            ImportJobRequested(
                job_id=job.id,
                import_id=imp.id,
                kind=imp.kind,
                mode=kind,
                filename=imp.filename,
                sha256=imp.sha256,
            ),
            aggregate_id=imp.id,
            occurred_at=now,
            unit_path=imp.unit_path,
            actor_id=p.id,
        )
        return job
