"""Enumerations of the case-file domain, each value with its Chinese label."""

from __future__ import annotations

from mediation.enums import LabelledEnum, labelled


@labelled
class OwnerType(LabelledEnum):
    """The record an attachment belongs to; it follows that record's access rules."""

    case = "case", "纠纷案件", "Dispute case"
    follow_up = "follow_up", "回访记录", "Follow-up visit of a case"
    session = "session", "调解会", "Mediation session"
    hotline_call = "hotline_call", "热线来电", "Hotline call (hotline access rules)"


@labelled
class AttachmentCategory(LabelledEnum):
    """What the document is in the case file (卷宗 source document types, DOMAIN.md)."""

    intake_registration = "intake_registration", "受理登记表", "Intake registration"
    rights_notice = "rights_notice", "权利义务告知书", "Notice of rights and duties"
    application = "application", "调解申请书", "Application for mediation"
    evidence = "evidence", "证据材料", "Evidence"
    minutes = "minutes", "调解笔录", "Mediation record"
    agreement = "agreement", "调解协议书", "Signed agreement"
    performance_proof = "performance_proof", "履行凭证", "Proof of performance"
    follow_up_record = "follow_up_record", "回访记录", "Follow-up record"
    judicial_confirmation = "judicial_confirmation", "司法确认", "Judicial confirmation"
    recording = "recording", "录音", "Audio recording (needs consent)"
    other = "other", "其他", "Other"


@labelled
class FileType(LabelledEnum):
    """The type found in the file's content (magic bytes), never taken from its name."""

    pdf = "pdf", "PDF 文档", "PDF"
    jpeg = "jpeg", "JPEG 图片", "JPEG image"
    png = "png", "PNG 图片", "PNG image"
    docx = "docx", "Word 文档", "Word document (DOCX, no macros)"
    mp3 = "mp3", "MP3 录音", "MP3 audio"
    wav = "wav", "WAV 录音", "WAV audio"
    m4a = "m4a", "M4A 录音", "MPEG-4 audio (M4A/AAC)"
    amr = "amr", "AMR 录音", "AMR audio (phone recorders)"
    ogg = "ogg", "OGG 录音", "Ogg audio (Vorbis/Opus)"

    @property
    def media_type(self) -> str:
        return _MEDIA_TYPES[self]

    @property
    def extension(self) -> str:
        return _EXTENSIONS[self]

    @property
    def is_audio(self) -> bool:
        return self in AUDIO


_MEDIA_TYPES: dict[FileType, str] = {
    FileType.pdf: "application/pdf",
    FileType.jpeg: "image/jpeg",
    FileType.png: "image/png",
    FileType.docx: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    FileType.mp3: "audio/mpeg",
    FileType.wav: "audio/wav",
    FileType.m4a: "audio/mp4",
    FileType.amr: "audio/amr",
    FileType.ogg: "audio/ogg",
}
_EXTENSIONS: dict[FileType, str] = {
    FileType.pdf: ".pdf",
    FileType.jpeg: ".jpg",
    FileType.png: ".png",
    FileType.docx: ".docx",
    FileType.mp3: ".mp3",
    FileType.wav: ".wav",
    FileType.m4a: ".m4a",
    FileType.amr: ".amr",
    FileType.ogg: ".ogg",
}
AUDIO = frozenset({FileType.mp3, FileType.wav, FileType.m4a, FileType.amr, FileType.ogg})


@labelled
class DocumentKind(LabelledEnum):
    """A printable document generated from the records."""

    intake = "intake", "受理登记表", "Intake registration"
    minutes = "minutes", "调解笔录", "Mediation record of a session"
    agreement = "agreement", "人民调解协议书", "Mediation agreement (Art. 29)"
    follow_up = "follow_up", "回访记录", "Follow-up record"
    case_file = "case_file", "卷宗", "The whole case file: cover, contents, documents"


@labelled
class DocumentFormat(LabelledEnum):
    """The file format of a generated document."""

    pdf = "pdf", "PDF", "PDF with embedded fonts, for printing"
    docx = "docx", "Word", "Editable Word document (the agreement only)"
