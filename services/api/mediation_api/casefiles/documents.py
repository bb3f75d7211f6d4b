"""Printable documents built from the records: a context (plain dicts of Chinese labels, dates
and amounts) handed to the templates. Personal data is masked unless the reader may see it;
an unmasked document is written to the access log like any unmasked read."""

from __future__ import annotations

import os
import tempfile
import traceback
import uuid
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread

from mediation.auth.access_log import record_access
from mediation.auth.policy import Permission
from mediation.casefiles import problems
from mediation.casefiles.documents.docx import render_docx
from mediation.casefiles.documents.pdf import Embed, pdf_page_count, render_pdf
from mediation.casefiles.enums import DocumentFormat, DocumentKind, FileType, OwnerType
from mediation.casefiles.models import Attachment
from mediation.cases import lifecycle
from mediation.cases.enums import CaseStatus, MediationChannel, PartyKind, PreventionKind
from mediation.cases.models import Case, CaseAgreement, CaseFollowUp
from mediation.errors import Conflict, DomainError, Forbidden, NotFound, Unprocessable
from mediation.org.enums import UnitLevel
from mediation.reference.data import ReferenceKind
from mediation.sessions.enums import SessionStatus
from mediation.sessions.models import MediationSession
from mediation_api.casefiles.service import CASE_OWNERS, CaseFileService
from mediation_api.casefiles.timeline import session_rows, timeline_rows
from mediation_api.cases.views import party_out, prevention, timeline_types
from mediation_api.reference.repository import ReferenceRepository

# Documents are CPU-heavy (font subsetting): at most two render at once per API process, so
# a burst of case-file downloads cannot starve every other request of CPU.
_RENDERING = anyio.CapacityLimiter(2)
# The larger case files: an attachment bigger than this is listed, not embedded.
MAX_EMBED_BYTES = 20 * 1_048_576
COMMITTEE_LEVELS = (UnitLevel.community, UnitLevel.street, UnitLevel.district)
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
_CN_DIGITS = "零一二三四五六七八九十"


class TemplateBroken(DomainError):
    status = 500
    slug = "document-template-broken"
    title = "A document template is broken"


@dataclass
class Document:
    path: Path
    media_type: str
    file_name: str  # 220302-2026-0001-人民调解协议书.pdf
    ascii_name: str  # 220302-2026-0001-agreement.pdf, for clients without `filename*`


def _cn_number(n: int) -> str:
    if n <= 10:
        return _CN_DIGITS[n]
    if n < 20:
        return "十" + _CN_DIGITS[n - 10]
    return str(n)


def _result(case: Case, agreement: CaseAgreement | None) -> str:
    """The cover's 调解结果: how the mediation ended, not where the case stands ("已结案")."""
    ended = lifecycle.outcome(case.status, case.resolved_at, case.failed_at)
    if ended is None:
        return f"尚未办结（{case.status.label_zh}）"
    if ended is CaseStatus.resolved and agreement is not None:
        return f"{ended.label_zh}，达成{agreement.form.label_zh}"
    if ended is CaseStatus.failed and case.referral_target is not None:
        return f"{ended.label_zh}，{case.referral_target.label_zh}"
    if ended in (CaseStatus.rejected, CaseStatus.withdrawn) and case.reason:
        return f"{ended.label_zh}（{case.reason}）"
    return ended.label_zh


class DocumentService:
    def __init__(self, files: CaseFileService) -> None:
        self.files = files
        self.session = files.session
        self.principal = files.principal
        self.settings = files.settings
        self.repo = files.cases.repo

    async def render(
        self,
        case_id: uuid.UUID,
        kind: DocumentKind,
        fmt: DocumentFormat,
        session_id: uuid.UUID | None,
        follow_up_id: uuid.UUID | None,
    ) -> Document:
        if fmt is DocumentFormat.docx and kind is not DocumentKind.agreement:
            raise Unprocessable(
                "Word (DOCX) is offered for the agreement only; the other documents are PDF.",
                field="query.format",
                code=problems.DOCX_AGREEMENT_ONLY,
            )
        case = await self.files.cases.get(case_id)
        sessions_visible = self.principal.can(Permission.sessions_read)
        if kind is DocumentKind.minutes and not sessions_visible:
            raise Forbidden("Mediation records need the permission `sessions:read`.")
        agreement = await self.repo.agreement(case.id)
        follow_ups = await self.repo.follow_ups(case.id)
        sessions = await self._sessions(case) if sessions_visible else []
        every_session = sessions

        if kind is DocumentKind.agreement and agreement is None:
            raise Conflict(
                "The case has no agreement yet: the agreement (调解协议书) is printed once the "
                "case is resolved with one (cases-resolve).",
                code=problems.DOCUMENT_NOT_READY,
            )
        if follow_up_id is not None:
            follow_ups = [f for f in follow_ups if f.id == follow_up_id]
            if not follow_ups:
                raise NotFound("No follow-up visit with this id on the case.")
        if kind is DocumentKind.follow_up and not follow_ups:
            raise Conflict(
                "The case has no follow-up visit recorded yet.", code=problems.DOCUMENT_NOT_READY
            )
        if session_id is not None:
            sessions = [s for s in sessions if s.id == session_id]
            if not sessions:
                raise NotFound("No mediation session with this id on the case.")
            if sessions[0].minutes is None:
                raise Conflict(
                    "The session's record (minutes) has not been written yet.",
                    code=problems.DOCUMENT_NOT_READY,
                )
        held = [s for s in sessions if s.status is SessionStatus.held and s.minutes]
        if kind is DocumentKind.minutes and not held:
            raise Conflict(
                "The case has no mediation session with a written record yet.",
                code=problems.DOCUMENT_NOT_READY,
            )

        unmasked = self.principal.can(Permission.pii_read)
        context = await self._context(case, agreement, follow_ups, held, unmasked)
        context["session_list"] = session_rows(every_session)
        if unmasked and context["party_ids"]:
            record_access(
                self.session,
                self.principal,
                action="document",
                record_type="case",
                record_id=case.id,
                subject_ids=context["party_ids"],
                case_number=case.number,
                document=kind.value,
                format=fmt.value,
            )
        ext = ".docx" if fmt is DocumentFormat.docx else ".pdf"
        name = f"{case.number_ascii}-{kind.label_zh}{ext}"
        ascii_name = f"{case.number_ascii}-{kind.value.replace('_', '-')}{ext}"
        out = await self._out_file(ext)
        try:
            if fmt is DocumentFormat.docx:
                await self._run(self._docx, context, out)
                return Document(out, DOCX, name, ascii_name)
            async with AsyncExitStack() as stack:
                embeds: dict[str, Embed] = {}
                if kind is DocumentKind.case_file:
                    attachments = await self.files.repo.of_case(
                        case.id,
                        CASE_OWNERS if sessions_visible else [OwnerType.case, OwnerType.follow_up],
                        None,
                        None,
                    )
                    context["attachments"] = await self._attachments(attachments, embeds, stack)
                    # The contents list one line per document part and attachment.
                    entries = 13 + len(held) + len(follow_ups) + len(context["attachments"])
                    context["toc_pages"] = 1 + entries // 28
                await self._run(self._pdf, kind, context, out, embeds, case.number)
            return Document(out, "application/pdf", name, ascii_name)
        except BaseException:
            out.unlink(missing_ok=True)
            raise

    async def _out_file(self, suffix: str) -> Path:
        spool = self.files.storage.ensure_spool_dir()

        def make() -> Path:
            fd, name = tempfile.mkstemp(dir=spool, prefix="doc-", suffix=suffix)
            os.close(fd)
            return Path(name)

        return await anyio.to_thread.run_sync(make)

    async def _run(self, fn: Any, *args: Any) -> None:
        from jinja2 import TemplateError

        try:
            await anyio.to_thread.run_sync(fn, *args, limiter=_RENDERING)
        except TemplateError as exc:
            # An administrator's edit broke a template: say which and why, not a stack trace.
            name = getattr(exc, "name", None) or getattr(exc, "filename", None)
            if not name:  # a runtime error: Jinja puts the template in the traceback
                frames = traceback.extract_tb(exc.__traceback__)
                name = next(
                    (Path(f.filename).name for f in reversed(frames) if f.filename.endswith(".j2")),
                    "?",
                )
            raise TemplateBroken(f"The template {name} cannot be used: {exc}") from exc

    def _pdf(
        self,
        kind: DocumentKind,
        context: dict[str, Any],
        out: Path,
        embeds: dict[str, Embed],
        number: str,
    ) -> None:
        render_pdf(
            f"{kind.value}.html.j2",
            context,
            out,
            override_dir=self.settings.document_templates_dir,
            title=f"{kind.label_zh} {number}",
            footer_label=number,
            embeds=embeds,
            first_footer_page=2 if kind is DocumentKind.case_file else 1,
            now=self.files.clock.now(),
        )

    def _docx(self, context: dict[str, Any], out: Path) -> None:
        render_docx(context, out, override_dir=self.settings.document_templates_dir)

    # --- the context ----------------------------------------------------------------------
    async def _sessions(self, case: Case) -> list[MediationSession]:
        from sqlalchemy import select

        stmt = (
            select(MediationSession)
            .where(MediationSession.case_id == case.id)
            .order_by(MediationSession.starts_at, MediationSession.id)
        )
        return list((await self.session.scalars(stmt)).all())

    async def _context(
        self,
        case: Case,
        agreement: CaseAgreement | None,
        follow_ups: list[CaseFollowUp],
        sessions: list[MediationSession],
        unmasked: bool,
    ) -> dict[str, Any]:
        repo = self.repo
        parties = await repo.parties(case.id)
        handlers = await repo.active_handlers(case.id)
        lineage = await repo.lineage(case.unit_path)
        handling = await repo.lineage(case.handling_unit_path)
        committee_unit = next(
            (u for u in reversed(handling) if u.level in COMMITTEE_LEVELS), handling[-1]
        )
        category = await ReferenceRepository(self.session).get(
            ReferenceKind.dispute_category, case.category_code
        )
        people: set[uuid.UUID] = set()
        for s in sessions:
            people |= set(s.mediator_person_ids) | set(s.attended_person_ids)
        if agreement is not None:
            people |= set(agreement.mediator_person_ids)
        names = await repo.person_names(people)
        shown = [party_out(p, unmasked) for p in parties]
        party_names = {p.id: s.name for p, s in zip(parties, shown, strict=True)}
        handler_names = [n for _, n in handlers]
        mediators = (
            [names[i] for i in agreement.mediator_person_ids if i in names] if agreement else []
        ) or handler_names
        types = timeline_types(self.principal, None)
        events = (
            await repo.events(case.id, types=types, after=None, limit=5000) if types != [] else []
        )
        now = self.files.clock.now()
        return {
            "masked": not unmasked,
            "party_ids": [p.id for p in parties],
            "generated_on": now,
            "committee": f"{committee_unit.name}人民调解委员会",
            "copies": _cn_number(len(parties) + 1),
            "toc_pages": 1,
            "case": {
                "number": case.number,
                "title": case.title,
                "facts": case.facts,
                "claims": case.claims,
                "category": category.label_zh if category else case.category_code,
                "source": case.source.label_zh,
                "intake_mode": case.source.intake_mode.label_zh,
                "complexity": case.complexity.label_zh,
                "risk_colour": case.risk_colour.label_zh,
                "status": case.status.label_zh,
                "result": _result(case, agreement),
                "place": "".join(u.name for u in lineage),
                "address": case.address,
                "occurred_at": case.occurred_at,
                "received_at": case.received_at,
                "accepted_at": case.accepted_at,
                "rejected_at": case.rejected_at,
                "resolved_at": case.resolved_at,
                "closed_at": case.closed_at,
                "reason": case.reason,
                "amount_involved": case.amount_involved,
                "handling_unit": handling[-1].name,
                "channels": [MediationChannel(c).label_zh for c in case.channels],
                "handlers": handler_names,
                "reported_by_name": case.reported_by_name,
                "prevention": [
                    f"{PreventionKind(f.kind).label_zh}（{f.people}人）" for f in prevention(case)
                ],
            },
            "parties": [
                {
                    "side": s.side.label_zh,
                    "kind": s.kind.label_zh,
                    "name": s.name,
                    "id_number": s.id_number if s.kind is PartyKind.person else None,
                    "org_code": s.org_code,
                    "phone": s.phone,
                    "address": s.address,
                    "is_minor": s.is_minor,
                    "guardian": (
                        {
                            "name": s.guardian.name,
                            "relation": s.guardian.relation,
                            "phone": s.guardian.phone,
                            "id_number": s.guardian.id_number,
                        }
                        if s.guardian
                        else None
                    ),
                }
                for s in shown
            ],
            "mediators": mediators,
            "agreement": (
                {
                    "form": agreement.form.label_zh,
                    "terms": agreement.terms,
                    "amount": agreement.amount,
                    "performance_method": agreement.performance_method,
                    "performance_due_on": agreement.performance_due_on,
                    "effective_on": agreement.effective_on,
                    "judicial_confirmation_until": agreement.judicial_confirmation_until,
                    "judicial_confirmation_requested_on": (
                        agreement.judicial_confirmation_requested_on
                    ),
                    "judicial_confirmation_court": agreement.judicial_confirmation_court,
                    "performance_status": agreement.performance_status.label_zh,
                }
                if agreement
                else None
            ),
            "performances": [
                {
                    "performed_on": p.performed_on,
                    "status": p.status.label_zh,
                    "amount": p.amount,
                    "note": p.note,
                    "recorded_by_name": p.recorded_by_name,
                }
                for p in await repo.performances(case.id)
            ],
            "follow_ups": [
                {
                    "visited_at": f.visited_at,
                    "method": f.method.label_zh,
                    "performance": f.performance.label_zh,
                    "satisfaction": f.satisfaction.label_zh,
                    "flare_up_risk": f.flare_up_risk.label_zh,
                    "notes": f.notes,
                    "recorded_by_name": f.recorded_by_name,
                }
                for f in follow_ups
            ],
            "sessions": [
                {
                    "starts_at": s.starts_at,
                    "ends_at": s.held_ended_at or s.ends_at,
                    "kind": s.kind.label_zh,
                    "mode": s.mode.label_zh,
                    "place": s.place or s.meeting_info,
                    "mediators": [names[i] for i in s.mediator_person_ids if i in names],
                    "attended_parties": [
                        party_names[i] for i in s.attended_party_ids if i in party_names
                    ],
                    "attended_people": [
                        names[i]
                        for i in s.attended_person_ids
                        if i in names and i not in s.mediator_person_ids
                    ],
                    "is_public": s.is_public,
                    "privacy_reason": s.privacy_reason.label_zh if s.privacy_reason else None,
                    "rights_notice_given": s.rights_notice_given,
                    "recording_consent": s.recording_consent,
                    "minutes": s.minutes,
                    "outcome": s.outcome.label_zh if s.outcome else None,
                    "next_step": s.next_step.label_zh if s.next_step else None,
                    "next_step_note": s.next_step_note,
                }
                for s in sessions
            ],
            "timeline": timeline_rows(events),
            "attachments": [],
        }

    async def _attachments(
        self, attachments: list[Attachment], embeds: dict[str, Embed], stack: AsyncExitStack
    ) -> list[dict[str, Any]]:
        """The attachment list; images and readable PDFs made local for embedding."""
        out = []
        for no, a in enumerate(attachments, start=1):
            ref = f"a{no}"
            caption = f"附件{no}：{a.title or a.file_name}"
            embedded = False
            if a.size_bytes <= MAX_EMBED_BYTES and a.file_type in (
                FileType.jpeg,
                FileType.png,
                FileType.pdf,
            ):
                path = await stack.enter_async_context(
                    self.files.storage.materialised(a.storage_key)
                )
                if a.file_type is FileType.pdf:
                    pages = await anyio.to_thread.run_sync(pdf_page_count, path)
                    if pages:
                        embeds[ref] = Embed("pdf", path, caption, pages)
                        embedded = True
                else:
                    embeds[ref] = Embed("image", path, caption)
                    embedded = True
            out.append(
                {
                    "no": no,
                    "ref": ref,
                    "category": a.category.label_zh,
                    "title": a.title or a.file_name,
                    "file_name": a.file_name,
                    "file_type": a.file_type.label_zh,
                    "size_bytes": a.size_bytes,
                    "uploaded_at": a.created_at,
                    "uploaded_by": a.uploaded_by_name,
                    "embedded": embedded,
                }
            )
        return out
