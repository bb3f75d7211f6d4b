"""The import jobs: validate a file (dry run) and commit it (all or nothing).

Like the statistics jobs, a job is a row in `jobs` and arq carries only its id; it is
claimed by moving it from queued to running in one statement. Progress is written in its
own short transactions so pollers of `/jobs/{id}` see it. The commit validates again in its
own transaction and writes nothing unless every row is good."""

from __future__ import annotations

import hashlib
import logging
import uuid
from typing import Any

from arq.worker import Function, func
from sqlalchemy import select, update

from mediation.clock import CENTER_TZ, center_date
from mediation.imports.enums import ImportStatus
from mediation.imports.kinds import KINDS
from mediation.imports.models import ImportFile
from mediation.imports.reading import read_sheet
from mediation.imports.template import annotated
from mediation.imports.validate import MAX_STORED_PROBLEMS, Outcome, validate
from mediation.jobs import RUN_IMPORT_JOB
from mediation.stats.enums import JobKind
from mediation.stats.models import Job
from mediation_worker import jobstate
from mediation_worker.context import WorkerContext, wctx
from mediation_worker.imports.kinds import WRITERS
from mediation_worker.imports.lookups import DbFinder, load_lookups
from mediation_worker.imports.recompute import months_of, queue_recomputes
from mediation_worker.instrument import instrumented

log = logging.getLogger("mediation.worker.imports")
JOB_TIMEOUT = 1800  # seconds: a 100,000-row file takes a few minutes (bench/)


async def _progress(c: WorkerContext, job_id: uuid.UUID, percent: int, step: str) -> None:
    await jobstate.set_progress(c, job_id, max(1, min(percent, 99)), step)


def _problems(outcome: Outcome) -> list[dict[str, Any]]:
    return [p.out() for p in outcome.problems[:MAX_STORED_PROBLEMS]]


async def _finish(
    c: WorkerContext, job: Job, imp_values: dict[str, Any], result: dict[str, Any]
) -> None:
    async with c.sessions() as session, session.begin():
        await session.execute(
            update(ImportFile).where(ImportFile.id == job.import_id).values(**imp_values)
        )
        await jobstate.succeed(session, job.id, c.clock.now(), result)


async def _check(c: WorkerContext, job: Job, imp: ImportFile, content: bytes) -> Outcome:
    # The lookups' session ends before the rows are checked (minutes for a large file, no
    # statement meanwhile): left open, its transaction idled through the whole check, holding
    # a connection and outlasting MEDIATION_DB_IDLE_IN_TRANSACTION_SECONDS. Read committed:
    # each statement saw its own snapshot anyway, so one transaction guaranteed nothing more.
    async with c.sessions() as session:
        lookups = await load_lookups(session, tuple(imp.scope_paths), imp.kind)
    now = c.clock.now()
    lookups.today = center_date(now)
    lookups.now = now.astimezone(CENTER_TZ).replace(tzinfo=None)
    lookups.hotline_opened_on = c.settings.hotline_opened_on

    async def progress(rows: int) -> None:
        await _progress(
            c, job.id, 5 + min(40, rows * 40 // max(1, rows + 20000)), f"校验第 {rows} 行"
        )

    # The finder's session takes its connection at its first query, once the rows are read.
    async with c.sessions() as session:
        return await validate(
            KINDS[imp.kind],
            content,
            lookups,
            DbFinder(session, imp.sha256),
            progress,
            c.settings.import_max_rows,
        )


async def _load(c: WorkerContext, job: Job) -> tuple[ImportFile, bytes]:
    """The job's import (detached) and its file's bytes (loaded only here: they are large)."""
    async with c.sessions() as session:
        imp = await session.get(ImportFile, job.import_id)
        assert imp is not None
        content = (
            await session.scalars(select(ImportFile.content).where(ImportFile.id == imp.id))
        ).one()
        session.expunge(imp)
    return imp, content


async def run_validate(c: WorkerContext, job: Job) -> None:
    imp, content = await _load(c, job)
    outcome = await _check(c, job, imp, content)
    notes = None
    if outcome.problems and outcome.rows:  # (a file-level refusal has no rows to mark)
        await _progress(c, job.id, 80, "生成标注表格")
        by_row: dict[int, list[dict[str, Any]]] = {}
        for p in outcome.problems:
            by_row.setdefault(p.row, []).append(p.out())
        notes = annotated(outcome.header, read_sheet(content).rows, by_row)
    status = ImportStatus.invalid if outcome.problems else ImportStatus.valid
    await _finish(
        c,
        job,
        {
            "status": status,
            "encoding": outcome.encoding,
            "rows": outcome.rows,
            "problem_count": len(outcome.problems),
            "problems": _problems(outcome),
            "annotated": notes,
            "updated_at": c.clock.now(),
        },
        {
            "status": status.value,
            "rows": outcome.rows,
            "problem_count": len(outcome.problems),
        },
    )


async def run_commit(c: WorkerContext, job: Job) -> None:
    imp, content = await _load(c, job)
    if hashlib.sha256(content).hexdigest() != imp.sha256:
        raise RuntimeError("stored file does not match its hash")
    outcome = await _check(c, job, imp, content)
    if outcome.problems:  # the data changed since the dry run (a number taken meanwhile...)
        await _finish(
            c,
            job,
            {
                "status": ImportStatus.invalid,
                "rows": outcome.rows,
                "problem_count": len(outcome.problems),
                "problems": _problems(outcome),
                "updated_at": c.clock.now(),
            },
            {"status": "invalid", "rows": outcome.rows, "problem_count": len(outcome.problems)},
        )
        return
    now = c.clock.now()
    spec = WRITERS[imp.kind]
    async with c.sessions() as session, session.begin():
        # One import of a file at a time: a second commit of the same bytes waits, then
        # finds its rows and creates nothing.
        await session.execute(select(1).where(ImportFile.sha256 == imp.sha256).with_for_update())
        done: set[int] = set()
        for table in spec.tables:
            done.update(
                (
                    await session.scalars(
                        select(table.import_row).where(table.import_sha256 == imp.sha256)
                    )
                ).all()
            )
        todo = [(r, x) for r, x in outcome.records if r not in done]
        lookups = await load_lookups(session, tuple(imp.scope_paths), imp.kind)
        writer = spec.writer(session, imp, lookups, c.settings, now)
        total = max(1, len(todo))

        async def progress(n: int) -> None:
            await _progress(c, job.id, 50 + n * 45 // total, f"写入第 {n} 条")

        created = await writer.write(todo, progress) if todo else 0
        recomputed = (
            await queue_recomputes(session, imp, months_of(todo, spec.dates), now) if todo else []
        )
        await session.execute(
            update(ImportFile)
            .where(ImportFile.id == imp.id)
            .values(
                status=ImportStatus.committed,
                created=created,
                skipped=len(outcome.records) - created,
                updated_at=now,
            )
        )
        result = {
            "status": ImportStatus.committed.value,
            "rows": outcome.rows,
            "problem_count": 0,
            "created": created,
            "recomputed_months": recomputed,
        }
        await jobstate.succeed(session, job.id, c.clock.now(), result)


async def _fail(c: WorkerContext, job: Job, exc: BaseException) -> None:
    async with c.sessions() as session, session.begin():
        await jobstate.fail(session, job.id, c.clock.now(), exc, "失败")
        await session.execute(
            update(ImportFile)
            .where(ImportFile.id == job.import_id)
            .values(status=ImportStatus.failed, updated_at=c.clock.now())
        )


@instrumented
async def run_import_job(ctx: dict[str, Any], job_id: str) -> str:
    c = wctx(ctx)
    job = await jobstate.claim(c, uuid.UUID(job_id), 1, "读取文件")
    if job is None:
        return "not queued"
    try:
        if job.kind is JobKind.import_commit:
            await run_commit(c, job)
        else:
            await run_validate(c, job)
    except Exception as exc:  # the job and the import are failed; nothing was written
        log.exception("import job %s failed", job_id)
        await _fail(c, job, exc)
        return "failed"
    return "succeeded"


def import_functions() -> list[Function]:
    return [func(run_import_job, name=RUN_IMPORT_JOB, timeout=JOB_TIMEOUT)]
