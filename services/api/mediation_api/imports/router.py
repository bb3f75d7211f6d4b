"""Routes of imports: templates, upload (validated by a job), the result, the annotated
sheet, and the commit (a job)."""

from __future__ import annotations

import uuid
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from mediation.auth.policy import Permission
from mediation.auth.principal import Principal
from mediation.errors import UnsupportedMediaType
from mediation.imports.contracts import ImportOut
from mediation.imports.enums import ImportKind
from mediation.imports.kinds import KINDS
from mediation.imports.models import ImportFile
from mediation.imports.reading import is_xlsx
from mediation.imports.template import template
from mediation_api.deps import ClockDep, Session, require
from mediation_api.imports.service import ImportService, import_out
from mediation_api.problems import responses
from mediation_api.reference.repository import ReferenceRepository

router = APIRouter(tags=["imports"])
Importer = Annotated[Principal, Depends(require(Permission.imports_write))]
ImportId = Annotated[uuid.UUID, Path(description="The import's id.")]
Kind = Annotated[ImportKind, Path(description="What the file holds.")]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPES = {"text/csv", "application/csv", "text/plain"}
XLS = "application/vnd.ms-excel"  # what browsers send for .xls and often for .csv

UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "description": "The file's bytes: XLSX (the first sheet) or CSV (UTF-8 or GBK, "
        "detected), with the template's header in the first row.",
        "content": {
            XLSX: {
                "schema": {"type": "string", "format": "binary"},
                "example": "(the workbook's bytes, from the template)",
            },
            "text/csv": {
                "schema": {"type": "string"},
                "example": "案件名称,纠纷事实,纠纷类型,来源,复杂程度,风险等级,发生地（单位）,"
                "登记日期,办理结果,办结日期,申请人姓名\n"
                "邻里噪音纠纷,装修噪音,邻里,来访,简单,黄色,220302001001,2021年3月5日,"
                "调解成功,2021-03-20,张三\n",
            },
        },
    }
}


def _xlsx(data: bytes, name: str) -> Response:
    return Response(
        data,
        media_type=XLSX,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"},
    )


def _accepted(imp: ImportFile, job_id: uuid.UUID | None) -> Response:
    """202: the import, and the job that works on it to poll."""
    return Response(
        import_out(imp).model_dump_json(),
        status_code=202,
        media_type="application/json",
        headers={"Location": f"/api/v1/jobs/{job_id}"},
    )


@router.get(
    "/imports/templates/{import_kind}",
    operation_id="imports-template",
    summary="The template of an import (XLSX)",
    description="A workbook whose first sheet has the Chinese headers (required ones in red) "
    "and drop-downs for coded columns; sheet 示例 has an example row, 说明 explains every "
    "column. Codes, Chinese labels and English labels are all accepted.",
    responses={200: {"content": {XLSX: {}}}, **responses(401, 403, 422)},
    response_class=Response,
)
async def get_template(import_kind: Kind, session: Session, principal: Importer) -> Response:
    spec = KINDS[import_kind]
    references = ReferenceRepository(session)
    lists = {
        key: await references.enabled_labels(ref_kind)
        for key, ref_kind in spec.reference_lists.items()
    }
    data = await run_in_threadpool(template, spec.columns, lists)
    return _xlsx(data, f"导入模板-{import_kind.label_zh}.xlsx")


@router.post(
    "/imports/{import_kind}",
    operation_id="imports-upload",
    summary="Upload a file to import (validated by a job)",
    description="Stores the file and queues its dry run; answers 202 with the import and "
    "`Location` of the validation job (`/jobs/{id}`). When the job has finished, the import "
    "lists every problem (row, column, cell, Chinese and English message) and offers the "
    "sheet annotated; nothing is written to the records until a valid file is committed.",
    status_code=202,
    response_model=ImportOut,
    openapi_extra=UPLOAD_BODY,
    responses=responses(401, 403, 413, 415, 422),
)
async def upload(
    import_kind: Kind,
    request: Request,
    session: Session,
    clock: ClockDep,
    principal: Importer,
    filename: Annotated[
        str | None, Query(max_length=255, description="The file's name, for the record.")
    ] = None,
) -> Response:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    content = await request.body()
    if ctype == XLSX or (ctype == "application/octet-stream" and is_xlsx(content)):
        name = filename or "upload.xlsx"
    elif ctype in CSV_TYPES or ctype == XLS:
        name = filename or "upload.csv"
    else:
        raise UnsupportedMediaType(f"Send the file as {XLSX} or text/csv.")
    imp = await ImportService(session, clock, principal).upload(import_kind, name, content)
    return _accepted(imp, imp.validate_job_id)


@router.get(
    "/imports/{import_id}",
    operation_id="imports-get",
    summary="An import",
    description="Status, rows, problems (once validated), records created (once committed).",
    responses=responses(401, 403, 404, 422),
)
async def get_import(
    import_id: ImportId, session: Session, clock: ClockDep, principal: Importer
) -> ImportOut:
    return import_out(await ImportService(session, clock, principal).get(import_id))


@router.get(
    "/imports/{import_id}/annotated",
    operation_id="imports-annotated",
    summary="The uploaded sheet with its problems marked (XLSX)",
    description="Every row as uploaded, bad cells red with the message as a comment, and a "
    "last column 问题 / Problems. 404 when the file has no problems.",
    responses={200: {"content": {XLSX: {}}}, **responses(401, 403, 404, 422)},
    response_class=Response,
)
async def get_annotated(
    import_id: ImportId, session: Session, clock: ClockDep, principal: Importer
) -> Response:
    data = await ImportService(session, clock, principal).annotated(import_id)
    return _xlsx(data, f"校验结果-{import_id}.xlsx")


@router.post(
    "/imports/{import_id}/commit",
    operation_id="imports-commit",
    summary="Import a validated file (a job)",
    description="Queues the import of every row, all or nothing; answers 202 with the import "
    "and `Location` of the job. Asking again gives the same job. A file with problems is a "
    "409. Importing the same file (same bytes) again creates nothing new.",
    status_code=202,
    response_model=ImportOut,
    responses=responses(401, 403, 404, 409, 422),
)
async def commit(
    import_id: ImportId, session: Session, clock: ClockDep, principal: Importer
) -> Response:
    imp, job = await ImportService(session, clock, principal).commit(import_id)
    return _accepted(imp, job.id)
