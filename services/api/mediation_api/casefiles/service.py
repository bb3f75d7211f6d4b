"""Attachments: which record they belong to and that record's access rules, storing an upload,
signed download links and the access log. Runs in the request's transaction (never commits).

Access follows the owner:
* a case or one of its follow-ups: read by whoever may read the case (its place in the
  caller's subtree); changed by dispatchers and the case's current handlers, not once closed;
  the person who reported the case adds to the case itself (not its follow-ups) while it is
  open and removes what they added;
* a session: read with `sessions:read` in scope; changed with `sessions:write` by dispatchers,
  the session's mediators and the case's handlers;
* a hotline call: exactly the hotline's rules (`HotlineService.get_call`: the caller's
  workstations only), every read in the access log; changed with `hotline:write`, not once the
  call is de-identified."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property
from typing import Annotated, Any

import anyio.to_thread
from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession

from mediation.auth.access_log import record_access
from mediation.auth.policy import Permission
from mediation.auth.principal import Principal
from mediation.casefiles import links, problems
from mediation.casefiles.enums import AttachmentCategory, FileType, OwnerType
from mediation.casefiles.models import Attachment
from mediation.casefiles.sniff import NotAllowed, matches_declared, sniff
from mediation.casefiles.storage import Storage, new_key, storage_for
from mediation.cases import lifecycle
from mediation.cases.enums import CaseEventType, CaseStatus
from mediation.cases.models import Case
from mediation.cases.problems import CASE_FINISHED
from mediation.clock import Clock
from mediation.contracts.etag import check_if_match
from mediation.errors import (
    VALIDATION,
    Conflict,
    Forbidden,
    NotFound,
    Unprocessable,
    UnsupportedMediaType,
)
from mediation.hotline import events as call_events
from mediation.hotline.enums import CallEventKind
from mediation.hotline.models import HotlineCall
from mediation.hotline.rules import CALL_DEIDENTIFIED
from mediation.ids import uuid7
from mediation.sessions.models import MediationSession
from mediation.settings import Settings
from mediation_api.casefiles.repository import CaseFileRepository
from mediation_api.casefiles.upload import SpooledFile, Upload
from mediation_api.cases.service import CaseService
from mediation_api.deps import State
from mediation_api.hotline.service import HotlineService
from mediation_api.idempotency import IdempotencyGuard
from mediation_api.request_service import RequestService

log = logging.getLogger("mediation.casefiles")

NOT_FOUND = "No attachment with this id."
CASE_OWNERS = [OwnerType.case, OwnerType.follow_up, OwnerType.session]
# A closed case's file is archived (归档): reopen the case to add or remove documents.
ARCHIVED = {CaseStatus.closed}


@dataclass
class Owner:
    type: OwnerType
    id: uuid.UUID
    unit_id: uuid.UUID
    unit_path: str
    case: Case | None = None
    session: MediationSession | None = None
    call: HotlineCall | None = None

    @property
    def case_id(self) -> uuid.UUID | None:
        return self.case.id if self.case is not None else None


@dataclass
class StoredKeys:
    """Objects this request put into the storage: removed again if the request fails after
    storing them, up to and including the commit (see `stored_keys`)."""

    storage: Storage
    keys: list[str] = field(default_factory=list)
    # An Idempotency-Key claimed for the request, released so the caller can retry.
    guard: IdempotencyGuard | None = None


async def stored_keys(state: State) -> AsyncIterator[StoredKeys]:
    """Declared before the transaction in a route's signature, so it is entered first and left
    last: a failing commit reaches it too, and no stored file outlives its missing row."""
    kept = StoredKeys(storage_for(state.settings))
    try:
        yield kept
    except BaseException:
        if kept.guard is not None:
            await kept.guard.release()
        for key in kept.keys:
            try:
                await kept.storage.delete(key)
            except Exception:  # the orphan is unreachable: no row names it
                log.warning("could not remove stored object %s", key, exc_info=True)
        raise


Janitor = Annotated[StoredKeys, Depends(stored_keys, scope="function")]


def _extension_ok(name: str, file_type: FileType) -> str:
    """The saved name keeps the uploader's stem but gets the detected type's extension: the
    name a browser saves under must not claim another type than what is served."""
    stem, dot, ext = name.rpartition(".")
    allowed = (
        {file_type.extension, ".jpeg"} if file_type is FileType.jpeg else {file_type.extension}
    )
    if dot and f".{ext.lower()}" in allowed:
        return name
    return (stem if dot and stem else name) + file_type.extension


def _bool(value: str | None) -> bool:
    return (value or "").strip().lower() in {"true", "1", "yes", "on"}


class CaseFileService(RequestService[CaseFileRepository]):
    repository = CaseFileRepository

    @cached_property
    def cases(self) -> CaseService:
        return CaseService(self.session, self.clock, self.settings, self.principal)

    @cached_property
    def storage(self) -> Storage:
        return storage_for(self.settings)

    # --- owners and their rules -----------------------------------------------------------
    def _hotline(self) -> HotlineService:
        return HotlineService(self.session, self.clock, self.settings, self.principal)

    async def owner(self, owner_type: OwnerType, owner_id: uuid.UUID) -> Owner:
        """The owner if the caller may read it; NotFound otherwise (outside the scope a
        record does not exist)."""
        p = self.principal
        if owner_type is OwnerType.case:
            case = await self.cases.get(owner_id)
            return Owner(owner_type, case.id, case.unit_id, case.unit_path, case=case)
        if owner_type is OwnerType.follow_up:
            follow_up = await self.repo.follow_up(owner_id)
            case = await self.cases.repo.get(follow_up.case_id, p) if follow_up else None
            if follow_up is None or case is None:
                raise NotFound("No follow-up visit with this id in your jurisdiction.")
            return Owner(owner_type, follow_up.id, case.unit_id, case.unit_path, case=case)
        if owner_type is OwnerType.session:
            ms = (
                await self.repo.mediation_session(owner_id, p)
                if p.can(Permission.sessions_read)
                else None
            )
            case = await self.cases.repo.get(ms.case_id, p) if ms else None
            if ms is None or case is None:
                raise NotFound("No mediation session with this id in your jurisdiction.")
            return Owner(owner_type, ms.id, ms.unit_id, ms.unit_path, case=case, session=ms)
        call = await self._hotline().get_call(owner_id)  # the hotline's own scope rule
        return Owner(owner_type, call.id, call.unit_id, call.unit_path, call=call)

    async def owner_for_change(
        self, owner_type: OwnerType, owner_id: uuid.UUID, attachment: Attachment | None = None
    ) -> Owner:
        """The owner if the caller may add (or remove `attachment`) to its attachments."""
        owner = await self.owner(owner_type, owner_id)
        p = self.principal
        if owner.call is not None:
            if not p.can(Permission.hotline_write):
                raise Forbidden("Attachments of hotline calls are for the hotline's counselors.")
            if owner.call.deidentified_at is not None:
                raise Conflict(
                    "The call was de-identified after its retention period.", code=CALL_DEIDENTIFIED
                )
            return owner
        case = owner.case
        assert case is not None
        person = p.person_id
        handler = person is not None and person in case.handler_person_ids
        allowed = p.can(Permission.cases_dispatch) or (handler and p.can(Permission.cases_handle))
        if owner.session is not None:
            mediator = person is not None and person in owner.session.mediator_person_ids
            allowed = p.can(Permission.sessions_write) and (allowed or mediator)
        elif not allowed and owner.type is OwnerType.case and self._reported(case):
            # The reporter (a grid head with the photo they took) adds evidence while the case
            # is open, and removes only what they added themselves.
            if attachment is not None and attachment.uploaded_by_id != p.id:
                raise Forbidden("Reporters remove only the attachments they added themselves.")
            if case.status not in lifecycle.OPEN:
                raise Conflict(
                    f"The case is {case.status.value}: its reporter adds evidence while it is "
                    "open (received, accepted, assigned, in mediation); ask its handlers or "
                    "the dispatchers.",
                    code=problems.EVIDENCE_CASE_NOT_OPEN,
                )
            return owner
        if not allowed:
            raise Forbidden(
                "Adding to or removing from a case file is for dispatchers, the case's "
                "handlers, its reporter while it is open and (for a session) its mediators."
            )
        if case.status in ARCHIVED:
            raise Conflict(
                "The case is closed and its file archived; reopen it first.", code=CASE_FINISHED
            )
        return owner

    def _reported(self, case: Case) -> bool:
        p = self.principal
        return (
            p.can(Permission.cases_evidence)
            and case.reported_by_kind == p.kind
            and case.reported_by_id == p.id
        )

    # --- storing an upload ----------------------------------------------------------------
    async def create(self, owner: Owner, upload: Upload, kept: StoredKeys) -> Attachment:
        spooled = upload.file
        assert spooled is not None
        file_type = await self._type_of(spooled)
        fields = upload.fields
        try:
            category = AttachmentCategory(fields.get("category") or "other")
        except ValueError as exc:
            raise Unprocessable(
                "Unknown category.", field="body.category", code=VALIDATION
            ) from exc
        title = (fields.get("title") or "").strip()[:200] or None
        note = (fields.get("consent_note") or "").strip()[:500] or None
        consent = _bool(fields.get("recording_consent"))
        if file_type.is_audio:
            self._check_consent(owner, consent)
            consent = True
            if category is AttachmentCategory.other:
                category = AttachmentCategory.recording
        elif consent:
            consent, note = False, None  # consent is about recordings only
        now = self.clock.now()
        p = self.principal
        attachment = Attachment(
            id=uuid7(),
            owner_type=owner.type,
            owner_id=owner.id,
            case_id=owner.case_id,
            unit_id=owner.unit_id,
            unit_path=owner.unit_path,
            category=category,
            title=title,
            file_name=_extension_ok(spooled.file_name, file_type),
            file_type=file_type,
            media_type=file_type.media_type,
            declared_type=spooled.declared_type,
            size_bytes=spooled.size,
            sha256=spooled.sha256,
            storage_backend=self.storage.backend,
            storage_key="",
            recording_consent=consent,
            consent_note=note,
            uploaded_by_kind=p.kind,
            uploaded_by_id=p.id,
            uploaded_by_person_id=p.person_id,
            uploaded_by_name=p.client_id or p.name,
        )
        attachment.storage_key = new_key(attachment.id, now)
        self.session.add(attachment)
        await self.session.flush()  # the row is valid before any byte is stored
        kept.keys.append(attachment.storage_key)
        await self.storage.put(
            attachment.storage_key, spooled.path, attachment.media_type, attachment.sha256
        )
        await self._timeline(owner, attachment, "added")
        return attachment

    async def _type_of(self, spooled: SpooledFile) -> FileType:
        try:
            # The DOCX check opens the ZIP directory: blocking file I/O, off the event loop.
            file_type = await anyio.to_thread.run_sync(sniff, spooled.head, spooled.path)
        except NotAllowed as exc:
            raise UnsupportedMediaType(str(exc), detected=None) from exc
        if not matches_declared(file_type, spooled.declared_type):
            raise UnsupportedMediaType(
                f"The file was sent as {spooled.declared_type} but its content is "
                f"{file_type.label_en} ({file_type.media_type}).",
                detected=file_type.value,
            )
        return file_type

    def _check_consent(self, owner: Owner, consent: bool) -> None:
        if owner.session is not None:
            if not owner.session.recording_consent:
                raise UnsupportedMediaType(
                    "Audio needs recording consent: the session does not record the "
                    "parties' consent to be recorded (recording_consent).",
                    errors=[{"field": "body.file", "message": "no recording consent"}],
                )
            return
        if not consent:
            raise UnsupportedMediaType(
                "Audio is accepted only with the recorded people's consent: send "
                "recording_consent=true (and how it was given in consent_note).",
                errors=[{"field": "body.recording_consent", "message": "required for audio"}],
            )

    async def _timeline(self, owner: Owner, a: Attachment, what: str) -> None:
        """The change on the owner's timeline. Cases have no typed attachment event yet, so
        it is a `updated` entry with the details in `data` and no outbox event (no
        notification noise); hotline calls record who and when, never the file (so does the
        case a call opened)."""
        verb = "上传附件" if what == "added" else "删除附件"
        if owner.call is not None:
            p = self.principal
            await call_events.record(
                self.session,
                owner.call,
                CallEventKind.updated,
                at=self.clock.now(),
                actor_id=p.id,
                actor_person_id=p.person_id,
                actor_name=p.client_id or p.name,
                detail={f"attachment_{what}": str(a.id), "category": a.category.value},
            )
            # A call that opened a case: the case says the call changed, never the file.
            await self._hotline().tell_case(owner.call)
            return
        assert owner.case is not None
        label = a.title or a.file_name
        await self.cases.record(
            owner.case,
            CaseEventType.updated,
            body=f"{verb}：{a.category.label_zh}《{label}》",
            data={
                "attachment": {
                    "id": a.id,
                    "action": what,
                    "owner_type": owner.type.value,
                    "owner_id": owner.id,
                    "category": a.category.value,
                    "file_type": a.file_type.value,
                    "size_bytes": a.size_bytes,
                    "sha256": a.sha256,
                }
            },
            emit_event=False,
        )

    # --- reading ----------------------------------------------------------------------------
    async def get(
        self, attachment_id: uuid.UUID, *, for_update: bool = False
    ) -> tuple[Attachment, Owner]:
        a = await self.repo.attachment(attachment_id, for_update=for_update)
        if a is None:
            raise NotFound(NOT_FOUND)
        try:
            owner = await self.owner(a.owner_type, a.owner_id)
        except NotFound as exc:
            raise NotFound(NOT_FOUND) from exc
        return a, owner

    def log_read(self, a: Attachment, owner: Owner, action: str) -> None:
        """Hotline attachments: every read is logged (they are hotline records)."""
        if owner.call is not None:
            self._log(a, action)

    def _log(self, a: Attachment, action: str, principal: Principal | None = None) -> None:
        _log_access(self.session, principal or self.principal, a, action)

    async def link(self, attachment_id: uuid.UUID) -> tuple[str, Any]:
        a, owner = await self.get(attachment_id)
        self.log_read(a, owner, "link")
        p = self.principal
        expires = self.clock.now() + timedelta(seconds=self.settings.download_link_seconds)
        token = links.sign(
            self.settings.secret_key.get_secret_value(),
            links.LinkGrant(
                attachment_id=a.id,
                expires=int(expires.timestamp()),
                actor_kind=p.kind,
                actor_id=p.id,
                actor_name=(p.client_id or p.name)[:100],
            ),
        )
        return f"/api/v1/attachments/{a.id}/content?token={token}", expires.replace(microsecond=0)

    # --- removing -------------------------------------------------------------------------
    async def remove(
        self, attachment_id: uuid.UUID, reason: str, if_match: str | None
    ) -> Attachment:
        a, _ = await self.get(attachment_id, for_update=True)
        owner = await self.owner_for_change(a.owner_type, a.owner_id, a)
        check_if_match(if_match, a.id, a.version)
        a.deleted_at = self.clock.now()
        a.deleted_by_name = self.principal.client_id or self.principal.name
        a.delete_reason = reason
        a.version += 1
        await self._timeline(owner, a, "removed")
        await self.session.flush()
        # The bytes go after the row says so; a failure here leaves an unreachable object.
        await self.storage.delete(a.storage_key)
        return a


async def download_grant(
    session: AsyncSession, settings: Settings, clock: Clock, attachment_id: uuid.UUID, token: str
) -> Attachment:
    """The attachment a valid link names, its download written to the access log as the
    person the link was issued to."""
    try:
        grant = links.verify(
            settings.secret_key.get_secret_value(), token, attachment_id, clock.now()
        )
    except links.BadLink as exc:
        raise Forbidden(str(exc)) from exc
    a = await CaseFileRepository(session).attachment(attachment_id)
    if a is None:
        raise NotFound(NOT_FOUND)
    issuer = Principal(
        kind=grant.actor_kind,
        id=grant.actor_id,
        name=grant.actor_name,
        roles=frozenset(),
        permissions=frozenset(),
        scope_paths=(),
    )
    _log_access(session, issuer, a, "download", link_expires=grant.expires)
    return a


def _log_access(
    session: AsyncSession, principal: Principal, a: Attachment, action: str, **extra: Any
) -> None:
    """An attachment's use in the access log: under its hotline call (a hotline record) or
    its case."""
    hotline = a.owner_type is OwnerType.hotline_call
    record_access(
        session,
        principal,
        action=f"{'hotline.' if hotline else ''}attachment_{action}",
        record_type="hotline_call" if hotline else "case",
        record_id=a.owner_id if hotline else a.case_id,
        attachment_id=str(a.id),
        owner_type=a.owner_type.value,
        file_name=a.file_name,
        sha256=a.sha256,
        **extra,
    )
