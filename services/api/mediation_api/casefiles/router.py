"""Case files: attachments on cases, follow-ups, sessions and hotline calls (streamed upload,
signed download links) and the printable documents generated from the records.

Uploads live under `/uploads/...`: the body-size middleware grants its larger limit by path
prefix, and only these routes may take a large body."""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import FileResponse, StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.background import BackgroundTask

from mediation.auth.access_log import record_access
from mediation.auth.policy import Permission
from mediation.auth.principal import Principal
from mediation.casefiles.enums import DocumentFormat, DocumentKind, OwnerType
from mediation.casefiles.models import Attachment
from mediation.casefiles.storage import storage_for
from mediation.contracts.common import Page
from mediation.contracts.etag import etag_of
from mediation.errors import NotFound
from mediation_api.casefiles.contracts import (
    UPLOAD_FORM_REF,
    AttachmentLinkOut,
    AttachmentOut,
)
from mediation_api.casefiles.documents import DocumentService
from mediation_api.casefiles.service import (
    CASE_OWNERS,
    CaseFileService,
    Janitor,
    Owner,
    download_grant,
)
from mediation_api.casefiles.upload import receive_upload
from mediation_api.deps import IfMatch, Session, State, require
from mediation_api.disposition import ascii_fallback, content_disposition
from mediation_api.idempotency import IdempotencyGuard, key_header
from mediation_api.pagination import DEFAULT, Cursor, Limit, build_page, cursor_values
from mediation_api.problems import responses

log = logging.getLogger("mediation.casefiles")

router = APIRouter(tags=["case-files"])

CaseId = Annotated[uuid.UUID, Path(description="The case's id.")]
FollowUpId = Annotated[uuid.UUID, Path(description="The follow-up visit's id.")]
SessionId = Annotated[uuid.UUID, Path(description="The mediation session's id.")]
CallId = Annotated[uuid.UUID, Path(description="The hotline call's id.")]
AttachmentId = Annotated[uuid.UUID, Path(description="The attachment's id.")]
IdempotencyKey = key_header(
    "A unique key per intended upload. Repeating the same upload (same file "
    "and fields) with the key returns the stored response; kept 24 hours."
)

READ_ERRORS = responses(401, 403, 404, 422)
UPLOAD_ERRORS = responses(400, 401, 403, 404, 409, 413, 415, 422)
UPLOAD_NOTE = (
    " Send `multipart/form-data` with one part `file` (and optional fields); the body streams "
    "to disk and is hashed on the way. The type comes from the content (magic bytes): PDF, "
    "JPEG, PNG, DOCX (no macros); audio (MP3, WAV, M4A, AMR, OGG) only with recording "
    "consent. 413 over the size limit (`MEDIATION_MAX_UPLOAD_BYTES`), 415 for a type not "
    "allowed or a part Content-Type that contradicts the content, 400 for a body cut off "
    "before its end (nothing is kept). Supports `Idempotency-Key`."
)


@dataclass
class Ctx:
    session: Session
    state: State
    principal: Principal

    @property
    def files(self) -> CaseFileService:
        return self.files_on(self.session)

    def files_on(self, session: AsyncSession) -> CaseFileService:
        """The service on another session (the upload's check before its body is read)."""
        return CaseFileService(session, self.state.clock, self.state.settings, self.principal)


def _ctx(permission: Permission) -> Any:
    # The permission is bound as a default value: annotations are strings here (PEP 563) and
    # cannot name a closure variable.
    async def build(
        session: Session, state: State, principal: Principal = Depends(require(permission))
    ) -> Ctx:
        return Ctx(session, state, principal)

    return Depends(build)


CaseReader = Annotated[Ctx, _ctx(Permission.cases_read)]
CaseHandler = Annotated[Ctx, _ctx(Permission.cases_handle)]
CaseEvidence = Annotated[Ctx, _ctx(Permission.cases_evidence)]
SessionReader = Annotated[Ctx, _ctx(Permission.sessions_read)]
SessionWriter = Annotated[Ctx, _ctx(Permission.sessions_write)]
HotlineReader = Annotated[Ctx, _ctx(Permission.hotline_read)]
HotlineWriter = Annotated[Ctx, _ctx(Permission.hotline_write)]


def _out(a: Attachment) -> AttachmentOut:
    return AttachmentOut.model_validate(a)


# --- uploads ----------------------------------------------------------------------------------
class _UploadGuard(IdempotencyGuard):
    """Idempotency for a streamed body: the request is identified by the stored file's
    SHA-256 and the form fields (computed while streaming), not by re-reading the body."""

    def __init__(self, request: Request, ctx: Ctx, key: str | None, digest: str) -> None:
        super().__init__(request, ctx.state, ctx.principal, key)
        self._digest = digest

    async def _request_hash(self) -> str:
        return self._digest


async def _upload(
    owner_type: OwnerType,
    owner_id: uuid.UUID,
    request: Request,
    ctx: Ctx,
    kept: Janitor,
    key: str | None,
) -> Response:
    files = ctx.files
    settings = ctx.state.settings
    # Who may add, and to what, is settled before a byte of the body is read, in a session
    # of its own that is closed before the body is read: a slow sender (a photo over a field
    # connection, minutes for a large file) holds no pooled connection and no open
    # transaction meanwhile. Checked again in the request's transaction once the file is in.
    async with ctx.state.sessions() as check:
        await ctx.files_on(check).owner_for_change(owner_type, owner_id)
    async with receive_upload(
        request, spool_dir=files.storage.ensure_spool_dir(), max_bytes=settings.max_upload_bytes
    ) as upload:
        assert upload.file is not None
        owner = await files.owner_for_change(owner_type, owner_id)
        digest = hashlib.sha256(
            json.dumps(
                [
                    request.url.path,
                    upload.file.sha256,
                    upload.file.file_name,
                    upload.file.declared_type,
                    sorted(upload.fields.items()),
                ],
                ensure_ascii=False,
            ).encode()
        ).hexdigest()
        guard = _UploadGuard(request, ctx, key, digest)
        if (replay := await guard.replay()) is not None:
            return replay
        kept.guard = guard
        attachment = await files.create(owner, upload, kept)
        return await guard.respond(
            ctx.session,
            _out(attachment),
            status_code=201,
            headers={
                "Location": f"/api/v1/attachments/{attachment.id}",
                "ETag": etag_of(attachment.id, attachment.version),
            },
        )


def _upload_route(path: str, op: str, summary: str, text: str) -> Any:
    return router.post(
        path,
        operation_id=op,
        summary=summary,
        description=text + UPLOAD_NOTE,
        status_code=201,
        response_model=AttachmentOut,
        responses=UPLOAD_ERRORS,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"multipart/form-data": {"schema": {"$ref": UPLOAD_FORM_REF}}},
            }
        },
    )


# `kept` comes first in each signature: it must be set up before the transaction so that it is
# torn down after the commit (a failed commit removes the stored file).
@_upload_route(
    "/uploads/cases/{case_id}",
    "attachments-upload-case",
    "Add a document to a case file",
    "Dispatchers and the case's handlers, not on a closed (archived) case; the person who "
    "reported the case (e.g. a grid head's photo of the scene) while it is open (received, "
    "accepted, assigned, in mediation), 409 after.",
)
async def upload_case(
    kept: Janitor, case_id: CaseId, request: Request, ctx: CaseEvidence, key: IdempotencyKey = None
) -> Response:
    return await _upload(OwnerType.case, case_id, request, ctx, kept, key)


@_upload_route(
    "/uploads/follow-ups/{follow_up_id}",
    "attachments-upload-follow-up",
    "Add a document to a follow-up visit",
    "E.g. the signed follow-up record or proof of performance. Dispatchers and the case's "
    "handlers.",
)
async def upload_follow_up(
    kept: Janitor,
    follow_up_id: FollowUpId,
    request: Request,
    ctx: CaseHandler,
    key: IdempotencyKey = None,
) -> Response:
    return await _upload(OwnerType.follow_up, follow_up_id, request, ctx, kept, key)


@_upload_route(
    "/uploads/sessions/{session_id}",
    "attachments-upload-session",
    "Add a document to a mediation session",
    "E.g. the signed record (调解笔录) or the session's recording, which needs the session to "
    "record the parties' consent. Dispatchers, the session's mediators, the case's handlers.",
)
async def upload_session(
    kept: Janitor,
    session_id: SessionId,
    request: Request,
    ctx: SessionWriter,
    key: IdempotencyKey = None,
) -> Response:
    return await _upload(OwnerType.session, session_id, request, ctx, kept, key)


@_upload_route(
    "/uploads/hotline-calls/{call_id}",
    "attachments-upload-hotline-call",
    "Add a file to a hotline call",
    "The hotline's rules: counselors of the call's workstation; not after de-identification. "
    "Never part of a case file.",
)
async def upload_hotline_call(
    kept: Janitor, call_id: CallId, request: Request, ctx: HotlineWriter, key: IdempotencyKey = None
) -> Response:
    return await _upload(OwnerType.hotline_call, call_id, request, ctx, kept, key)


# --- lists -----------------------------------------------------------------------------------
def _page(rows: list[Attachment], limit: int) -> Page[AttachmentOut]:
    items, next_cursor = build_page(rows, limit, lambda a: {"i": str(a.id)})
    return Page[AttachmentOut](items=[_out(a) for a in items], next_cursor=next_cursor)


def _after(cursor: str | None) -> uuid.UUID | None:
    values = cursor_values(cursor, "i")
    return uuid.UUID(str(values["i"])) if values else None


@router.get(
    "/cases/{case_id}/attachments",
    operation_id="cases-attachments-list",
    summary="The case file's attachments",
    description="The case's own attachments and those of its follow-ups and (for readers "
    "of sessions) sessions, oldest first. Filter with `owner_type`.",
    responses=READ_ERRORS,
)
async def list_case(
    case_id: CaseId,
    ctx: CaseReader,
    owner_type: Annotated[
        list[OwnerType] | None, Query(description="Only attachments of these record kinds.")
    ] = None,
    limit: Limit = DEFAULT,
    cursor: Cursor = None,
) -> Page[AttachmentOut]:
    files = ctx.files
    case = await files.cases.get(case_id)
    kinds = [t for t in CASE_OWNERS if not owner_type or t in owner_type]
    if not ctx.principal.can(Permission.sessions_read):
        kinds = [t for t in kinds if t is not OwnerType.session]
    rows = await files.repo.of_case(case.id, kinds, _after(cursor), limit) if kinds else []
    return _page(rows, limit)


async def _owner_rows(
    ctx: Ctx, owner_type: OwnerType, owner_id: uuid.UUID, limit: int, cursor: str | None
) -> tuple[Owner, list[Attachment]]:
    """The owner (404 unless the caller may read it) and up to limit+1 of its attachments."""
    owner = await ctx.files.owner(owner_type, owner_id)
    return owner, await ctx.files.repo.of_owner(owner_type, owner.id, _after(cursor), limit)


async def _owner_list(
    ctx: Ctx, owner_type: OwnerType, owner_id: uuid.UUID, limit: int, cursor: str | None
) -> Page[AttachmentOut]:
    _, rows = await _owner_rows(ctx, owner_type, owner_id, limit, cursor)
    return _page(rows, limit)


@router.get(
    "/cases/{case_id}/follow-ups/{follow_up_id}/attachments",
    operation_id="cases-follow-up-attachments-list",
    summary="A follow-up visit's attachments",
    description="Oldest first.",
    responses=READ_ERRORS,
)
async def list_follow_up(
    case_id: CaseId,
    follow_up_id: FollowUpId,
    ctx: CaseReader,
    limit: Limit = DEFAULT,
    cursor: Cursor = None,
) -> Page[AttachmentOut]:
    owner = await ctx.files.owner(OwnerType.follow_up, follow_up_id)
    if owner.case_id != case_id:
        raise NotFound("No follow-up visit with this id on the case.")
    return await _owner_list(ctx, OwnerType.follow_up, follow_up_id, limit, cursor)


@router.get(
    "/sessions/{session_id}/attachments",
    operation_id="sessions-attachments-list",
    summary="A mediation session's attachments",
    description="Oldest first.",
    responses=READ_ERRORS,
)
async def list_session(
    session_id: SessionId, ctx: SessionReader, limit: Limit = DEFAULT, cursor: Cursor = None
) -> Page[AttachmentOut]:
    return await _owner_list(ctx, OwnerType.session, session_id, limit, cursor)


@router.get(
    "/hotline/calls/{call_id}/attachments",
    operation_id="hotline-attachments-list",
    summary="A hotline call's attachments",
    description="The hotline's access rules; the read is written to the access log.",
    responses=READ_ERRORS,
)
async def list_hotline_call(
    call_id: CallId, ctx: HotlineReader, limit: Limit = DEFAULT, cursor: Cursor = None
) -> Page[AttachmentOut]:
    owner, rows = await _owner_rows(ctx, OwnerType.hotline_call, call_id, limit, cursor)
    # A hotline read is logged even when the list is empty: someone looked at the call.
    record_access(
        ctx.session,
        ctx.principal,
        action="hotline.attachment_list",
        record_type="hotline_call",
        record_id=owner.id,
        attachment_ids=[str(a.id) for a in rows[:limit]],
    )
    return _page(rows, limit)


# --- one attachment --------------------------------------------------------------------------
@router.get(
    "/attachments/{attachment_id}",
    operation_id="attachments-get",
    summary="An attachment's record",
    description="What it is, its size and SHA-256; the bytes come through `attachments-link`. "
    "Readable by whoever may read the record it belongs to (hotline attachments: the "
    "hotline's rules, logged). ETag for removal.",
    responses=READ_ERRORS,
)
async def get_attachment(
    attachment_id: AttachmentId, ctx: CaseReader, response: Response
) -> AttachmentOut:
    a, owner = await ctx.files.get(attachment_id)
    ctx.files.log_read(a, owner, "read")
    response.headers["ETag"] = etag_of(a.id, a.version)
    return _out(a)


@router.post(
    "/attachments/{attachment_id}/link",
    operation_id="attachments-link",
    summary="Get a short-lived download link",
    description="A signed link (HMAC-SHA256) to the file that a browser can open without a "
    "token, valid for `MEDIATION_DOWNLOAD_LINK_SECONDS` (default 5 minutes). The download is "
    "written to the access log under the caller's name.",
    responses=READ_ERRORS,
)
async def link(attachment_id: AttachmentId, ctx: CaseReader) -> AttachmentLinkOut:
    url, expires = await ctx.files.link(attachment_id)
    return AttachmentLinkOut(url=url, expires_at=expires)


@router.get(
    "/attachments/{attachment_id}/content",
    operation_id="attachments-download",
    summary="Download through a signed link",
    description="No token: the `token` of a link from `attachments-link` is the authority "
    "(403 when altered or expired). Served as the detected type, as a download, never "
    "sniffed by the browser; local storage answers Range requests.",
    responses={
        **responses(403, 404, 422),
        200: {"description": "The file.", "content": {"application/octet-stream": {}}},
    },
    response_class=Response,
)
async def download(
    attachment_id: AttachmentId,
    session: Session,
    state: State,
    token: Annotated[str, Query(max_length=2000, description="The link's signature.")],
) -> Response:
    a = await download_grant(session, state.settings, state.clock, attachment_id, token)
    storage = storage_for(state.settings)
    headers = {
        "Content-Disposition": content_disposition(
            a.file_name, ascii_fallback(a.file_name, f"{a.category.value}-{a.id}")
        ),
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "ETag": f'"{a.sha256}"',
    }
    local = storage.local_path(a.storage_key)
    if local is not None:
        return FileResponse(local, media_type=a.media_type, headers=headers)
    if not await storage.exists(a.storage_key):
        log.error("attachment %s has no stored content (%s)", a.id, a.storage_key)
        raise NotFound(
            "The attachment's content is missing from the storage; tell an administrator."
        )
    headers["Content-Length"] = str(a.size_bytes)
    return StreamingResponse(
        storage.stream(a.storage_key), media_type=a.media_type, headers=headers
    )


@router.delete(
    "/attachments/{attachment_id}",
    operation_id="attachments-remove",
    summary="Remove an attachment",
    description="Needs If-Match. The file is deleted from the storage; the record stays in "
    "the case file's history with who removed it and why. The owner's change rules apply "
    "(dispatchers and handlers; a case's reporter what they added, while the case is open; "
    "hotline counselors for hotline calls); not on a closed case.",
    status_code=204,
    responses=responses(401, 403, 404, 409, 412, 422, 428),
)
async def remove(
    attachment_id: AttachmentId,
    ctx: CaseReader,
    reason: Annotated[str, Query(min_length=1, max_length=500, description="Why it is removed.")],
    if_match: IfMatch = None,
) -> Response:
    await ctx.files.remove(attachment_id, reason, if_match)
    return Response(status_code=204)


# --- documents -------------------------------------------------------------------------------
@router.get(
    "/cases/{case_id}/documents/{document_kind}",
    operation_id="cases-documents-get",
    summary="A printable document of the case",
    description="Generated from the records, never typed again: `intake` (受理登记表), "
    "`minutes` (调解笔录; one session with `session_id`, else every held session), "
    "`agreement` (人民调解协议书 with the contents of People's Mediation Law Art. 29; also "
    "`format=docx`, editable), `follow_up` (回访记录), `case_file` (the whole 卷宗: cover, "
    "contents, every document, the timeline, the attachments with images and PDFs embedded). "
    "PDF with an embedded CJK font. Personal data masked unless the caller may read it "
    "(then the document is written to the access log). 409 when the record does not exist "
    "yet (no agreement, no follow-up, no written session record). Templates: "
    "`MEDIATION_DOCUMENT_TEMPLATES_DIR`.",
    responses={
        **responses(401, 403, 404, 409, 422, 500),
        200: {
            "description": "The document.",
            "content": {
                "application/pdf": {},
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document": {},
            },
        },
    },
    response_class=Response,
)
async def document(
    case_id: CaseId,
    document_kind: Annotated[DocumentKind, Path(description="Which document.")],
    ctx: CaseReader,
    format: Annotated[
        DocumentFormat, Query(description="`pdf`, or `docx` for the agreement.")
    ] = DocumentFormat.pdf,
    session_id: Annotated[
        uuid.UUID | None, Query(description="`minutes`: this session only.")
    ] = None,
    follow_up_id: Annotated[
        uuid.UUID | None, Query(description="`follow_up`: this visit only.")
    ] = None,
) -> Response:
    doc = await DocumentService(ctx.files).render(
        case_id, document_kind, format, session_id, follow_up_id
    )
    return FileResponse(
        doc.path,
        media_type=doc.media_type,
        headers={
            "Content-Disposition": content_disposition(doc.file_name, doc.ascii_name),
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
        background=BackgroundTask(doc.path.unlink, missing_ok=True),
    )
