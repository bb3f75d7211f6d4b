"""HTML template → PDF with fpdf2 (pure Python: no Pango, Cairo or browser on the server).

fpdf2 understands a subset of HTML (headings, paragraphs, tables with page-crossing rows and
repeated header rows, lists, `<font>`, `<br>`, `<hr>`, `<toc>`), which is what an office
document needs; its line breaking splits Chinese text between any two characters, which
`linebreak` corrects by the Chinese rules (no "，" at the start of a line). Three tags
of our own, for templates:

* `<pagebreak>`: start a new page;
* `<attachment ref="...">`: the attachment `ref` of the context, an image fitted to a page or
  every page of a PDF (overlaid on reserved pages once the document is written, so the table
  of contents counts them);
* `<toc pages="N">` (fpdf2's): the table of contents of every `<h1>`/`<h2>`, on N pages.

Rendering is CPU-bound and blocking: callers run it in a worker thread."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from fpdf import FPDF, Align, FontFace, TextStyle, XPos, YPos
from fpdf.html import HTML2FPDF
from fpdf.outline import OutlineSection
from markupsafe import Markup, escape

from mediation.casefiles.documents import linebreak
from mediation.casefiles.documents.fonts import FAMILY, font_files
from mediation.casefiles.documents.templating import environment

log = logging.getLogger("mediation.casefiles.pdf")

CAPTION_MM = 14  # the band above an embedded attachment for its caption

linebreak.install()  # Chinese line-breaking rules (禁则) in every PDF we write


@dataclass
class Embed:
    """An attachment a template may place with `<attachment ref=...>`."""

    kind: str  # "image" | "pdf"
    path: Path
    caption: str
    pages: int = 1


@dataclass
class _Overlay:
    page: int  # 1-based page of the output
    source: Path
    source_page: int  # 0-based


@dataclass
class Rendered:
    pages: int
    sections: list[tuple[int, str, int]] = field(default_factory=list)  # level, name, page


def nl2br(value: str | None) -> Markup:
    """Line breaks in a record's text survive HTML: escaped text, `<br>` between lines."""
    if not value:
        return Markup("")
    return Markup("<br>").join(escape(line) for line in value.splitlines())


class _Document(FPDF):
    def __init__(self, footer_label: str, first_footer_page: int) -> None:
        super().__init__(format="A4", unit="mm")
        self.footer_label = footer_label
        self.first_footer_page = first_footer_page
        self.set_margins(22, 20, 22)
        self.set_auto_page_break(True, margin=20)
        files = font_files()
        # Text in serif (宋体-like); headings and bold in sans (黑体-like). Each face costs
        # about a second to parse and subset, so only these two are loaded: CJK typography
        # has no italic, and <i>/<em> are rendered upright (see _TAG_STYLES).
        self.add_font(FAMILY, "", str(files.serif))
        self.add_font(FAMILY, "B", str(files.sans))
        self.set_font(FAMILY, size=12)
        self.set_lang("zh-CN")

    def footer(self) -> None:
        if self.page_no() < self.first_footer_page:
            return
        self.set_y(-14)
        self.set_font(FAMILY, "", 9)
        self.set_text_color(90)
        text = f"{self.footer_label}    第 {self.page_no()} 页 共 {{nb}} 页"
        self.cell(0, 6, text, align="C")
        self.set_text_color(0)


class _Html(HTML2FPDF):
    """fpdf2's HTML renderer with our tags and a table of contents with dot leaders."""

    def __init__(self, pdf: Any, embeds: dict[str, Embed], overlays: list[_Overlay], **kw: Any):
        super().__init__(pdf, **kw)
        self.embeds = embeds
        self.overlays = overlays

    def _new_paragraph(self, *args: Any, line_height: float | None = 1.0, **kw: Any) -> None:
        # Chinese body text reads better with air between lines: 1.5 unless a template
        # sets `line-height` itself.
        super()._new_paragraph(*args, line_height=1.5 if line_height == 1.0 else line_height, **kw)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "pagebreak":
            self._end_paragraph()
            self.pdf._perform_page_break()
            return
        if tag == "attachment":
            self._end_paragraph()
            self._attachment(dict(attrs).get("ref") or "")
            return
        super().handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("pagebreak", "attachment"):
            return
        super().handle_endtag(tag)

    def _caption(self, text: str) -> None:
        pdf = self.pdf
        pdf.set_font(FAMILY, "B", 10)
        pdf.set_xy(pdf.l_margin, pdf.t_margin)
        pdf.cell(pdf.epw, 6, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font(FAMILY, "", 12)

    def _attachment(self, ref: str) -> None:
        embed = self.embeds.get(ref)
        if embed is None:
            return
        pdf = self.pdf
        box_w, box_h = pdf.epw, pdf.eph - CAPTION_MM
        pdf.add_page()
        pdf.start_section(embed.caption, level=1, strict=False)  # its entry in the contents
        if embed.kind == "image":
            self._caption(embed.caption)
            try:
                from PIL import Image

                with Image.open(embed.path) as im:
                    px_w, px_h = im.size
                # Fitted to the box, centred across, from the top (under the caption).
                scale = min(box_w / px_w, box_h / px_h)
                w, h = px_w * scale, px_h * scale
                pdf.image(
                    str(embed.path),
                    x=pdf.l_margin + (box_w - w) / 2,
                    y=pdf.t_margin + CAPTION_MM,
                    w=w,
                    h=h,
                )
            except Exception:  # a damaged image must not lose the whole case file
                log.warning("could not embed image %s", embed.path, exc_info=True)
                pdf.set_y(pdf.t_margin + CAPTION_MM)
                pdf.multi_cell(pdf.epw, 7, "（图片无法显示，请在系统中查看原件。）")
            return
        for i in range(embed.pages):
            if i:
                pdf.add_page()
            self._caption(f"{embed.caption}（第 {i + 1} 页 / 共 {embed.pages} 页）")
            self.overlays.append(_Overlay(page=pdf.page_no(), source=embed.path, source_page=i))

    def render_toc(self, pdf: Any, outline: list[OutlineSection]) -> None:
        # Runs when the document is written, after the last page: set every state it uses.
        pdf.set_text_color(0)
        pdf.set_xy(pdf.l_margin, pdf.t_margin)
        pdf.set_font(FAMILY, "B", 16)
        pdf.cell(pdf.epw, 12, "卷 内 目 录", align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(4)
        pdf.set_font(FAMILY, "", 12)
        dot = pdf.get_string_width(".")
        for section in outline:
            if section.level > 1:
                continue
            indent = 8 * section.level
            number = str(section.page_number)
            avail = pdf.epw - indent - 14
            name = section.name
            while pdf.get_string_width(name) > avail - 6 and len(name) > 2:
                name = name[:-2] + "…"
            dots = "." * max(2, int((avail - pdf.get_string_width(name) - 2) / dot))
            link = pdf.add_link(page=section.page_number)
            pdf.set_x(pdf.l_margin + indent)
            pdf.cell(avail, 8, f"{name} {dots}", link=link)
            pdf.cell(14, 8, number, align="R", link=link, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


_TAG_STYLES = {
    "h1": TextStyle(
        font_family=FAMILY,
        font_style="B",
        font_size_pt=20,
        color=0,
        t_margin=0,
        b_margin=2,
        l_margin=Align.C,
    ),
    "h2": TextStyle(
        font_family=FAMILY, font_style="B", font_size_pt=14, color=0, t_margin=3, b_margin=0
    ),
    "h3": TextStyle(
        font_family=FAMILY, font_style="B", font_size_pt=12, color=0, t_margin=2, b_margin=0
    ),
    "p": TextStyle(font_family=FAMILY, t_margin=0.5, b_margin=0.5),
    "i": FontFace(),
    "em": FontFace(),
}


def render_pdf(
    template: str,
    context: dict[str, Any],
    out: Path,
    *,
    override_dir: Path | None,
    title: str,
    footer_label: str,
    embeds: dict[str, Embed] | None = None,
    first_footer_page: int = 1,
    now: datetime | None = None,
) -> Rendered:
    """Renders `template` with `context` into the PDF file `out`."""
    env = environment(override_dir)
    env.filters["nl2br"] = nl2br
    html = env.get_template(template).render(**context)
    pdf = _Document(footer_label, first_footer_page)
    pdf.set_title(title)
    pdf.set_author("综治中心 矛盾纠纷排查化解系统")
    pdf.set_creator("mediation-center")
    if now is not None:
        pdf.set_creation_date(now)
    overlays: list[_Overlay] = []

    class Html(_Html):
        def __init__(self, pdf_: Any, **kw: Any) -> None:
            super().__init__(pdf_, embeds or {}, overlays, **kw)

    pdf.HTML2FPDF_CLASS = Html  # type: ignore[misc]
    pdf.add_page()
    pdf.write_html(
        html,
        tag_styles=_TAG_STYLES,
        font_family=FAMILY,
        table_line_separators=True,
        warn_on_tags_not_matching=False,
    )
    sections = [(s.level, s.name, s.page_number) for s in pdf._outline]
    pdf.output(str(out))
    if overlays:
        _overlay(out, overlays, pdf)
    return Rendered(pages=pdf.pages_count, sections=sections)


def _overlay(out: Path, overlays: list[_Overlay], pdf: FPDF) -> None:
    """Draws each attached PDF page, scaled to fit, on the page reserved for it."""
    from pypdf import PdfReader, PdfWriter, Transformation

    writer = PdfWriter(clone_from=PdfReader(str(out)))
    readers: dict[Path, Any] = {}
    k = 72 / 25.4  # points per mm
    box_x, box_y = pdf.l_margin * k, pdf.b_margin * k
    box_w, box_h = pdf.epw * k, (pdf.eph - CAPTION_MM) * k
    for o in overlays:
        try:
            reader = readers.get(o.source) or readers.setdefault(o.source, PdfReader(o.source))
            src = reader.pages[o.source_page]
            llx, lly = float(src.mediabox.left), float(src.mediabox.bottom)
            w, h = float(src.mediabox.width), float(src.mediabox.height)
            scale = min(box_w / w, box_h / h)
            tx = box_x + (box_w - w * scale) / 2
            ty = box_y + (box_h - h * scale)  # top of the box, under the caption
            op = Transformation().translate(-llx, -lly).scale(scale).translate(tx, ty)
            writer.pages[o.page - 1].merge_transformed_page(src, op)
        except Exception:  # an encrypted or damaged attachment keeps its caption page
            log.warning("could not embed page %s of %s", o.source_page, o.source, exc_info=True)
    tmp = out.with_name(out.name + ".tmp")
    with open(tmp, "wb") as f:
        writer.write(f)
    os.replace(tmp, out)


def pdf_page_count(path: Path) -> int:
    """Pages of an attached PDF (0 if it cannot be read: it is then listed, not embedded)."""
    from pypdf import PdfReader

    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted:
            return 0
        return len(reader.pages)
    except Exception:
        return 0
