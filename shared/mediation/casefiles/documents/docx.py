"""The agreement as an editable Word document, from a Word template (docxtpl: Jinja2 tags typed
in the document itself, e.g. `{{ case.number }}`, `{%tr for p in parties %}` in a table row).
An administrator edits `agreement.docx` in Word or WPS; `build_agreement_template` only makes
the shipped default."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mediation.casefiles.documents.templating import environment, template_path

DOCX_TEMPLATE = "agreement.docx"


def render_docx(context: dict[str, Any], out: Path, *, override_dir: Path | None) -> None:
    from docxtpl import DocxTemplate

    tpl = DocxTemplate(str(template_path(DOCX_TEMPLATE, override_dir)))
    env = environment(override_dir)  # the same filters (cn_date, rmb_upper...) as the PDFs
    # autoescape: the records' text goes into XML; "&" or "<" in it must stay text.
    tpl.render(context, jinja_env=env, autoescape=True)
    tpl.save(str(out))


def _east_asian(run_or_style: Any, name: str) -> None:
    """Sets the East Asian font (python-docx only sets the Latin one)."""
    from docx.oxml.ns import qn

    rpr = run_or_style.element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = rpr.makeelement(qn("w:rFonts"), {})
        rpr.append(fonts)
    fonts.set(qn("w:eastAsia"), name)


def build_agreement_template(path: Path) -> None:
    """Writes the default 人民调解协议书 template (People's Mediation Law Art. 29 contents)."""
    from docx import Document
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm, Pt

    doc = Document()
    section = doc.sections[0]
    section.page_height, section.page_width = Cm(29.7), Cm(21.0)
    section.top_margin = section.bottom_margin = Cm(2.5)
    section.left_margin = section.right_margin = Cm(2.6)
    normal = doc.styles["Normal"]
    normal.font.name = "Times New Roman"
    normal.font.size = Pt(12)
    _east_asian(normal, "宋体")
    for level in (1, 2):
        style = doc.styles[f"Heading {level}"]
        style.font.name = "Times New Roman"
        style.font.size = Pt(18 if level == 1 else 14)
        style.font.bold = True
        style.font.color.rgb = None
        _east_asian(style, "黑体")

    def para(text: str, align: Any = None, bold: bool = False) -> None:
        p = doc.add_paragraph()
        run = p.add_run(text)
        run.bold = bold
        if align is not None:
            p.alignment = align

    title = doc.add_heading("人民调解协议书", level=1)
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    para("{{ case.number }}", WD_ALIGN_PARAGRAPH.RIGHT)

    doc.add_heading("一、当事人基本情况", level=2)
    table = doc.add_table(rows=4, cols=5)
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for cell, text in zip(
        table.rows[0].cells,
        ["身份", "姓名/名称", "身份证号/信用代码", "联系电话", "住址"],
        strict=True,
    ):
        cell.text = text
    table.rows[1].cells[0].text = "{%tr for p in parties %}"
    for cell, text in zip(
        table.rows[2].cells,
        [
            "{{ p.side }}",
            "{{ p.name }}",
            "{{ p.id_number or p.org_code }}",
            "{{ p.phone }}",
            "{{ p.address }}",
        ],
        strict=True,
    ):
        cell.text = text
    table.rows[3].cells[0].text = "{%tr endfor %}"

    doc.add_heading("二、纠纷的主要事实、争议事项", level=2)
    para("{{ case.facts }}")
    para("{%p if case.claims %}")
    para("争议事项及请求：{{ case.claims }}")
    para("{%p endif %}")

    doc.add_heading("三、经调解，自愿达成如下协议", level=2)
    para("{{ agreement.terms }}")
    para("{%p if agreement.amount %}")
    para("协议涉及金额：{{ agreement.amount | yuan }}（{{ agreement.amount | rmb_upper }}）。")
    para("{%p endif %}")

    doc.add_heading("四、履行方式、时限", level=2)
    para("履行方式：{{ agreement.performance_method }}")
    para(
        "履行期限：{% if agreement.performance_due_on %}{{ agreement.performance_due_on | "
        "cn_date }}前履行完毕{% else %}协议生效后即时履行{% endif %}。"
    )

    doc.add_heading("五、其他", level=2)
    para(
        "本协议为{{ agreement.form }}，经人民调解委员会调解，当事人自愿达成。本协议具有法律"
        "约束力，当事人应当按照约定履行。"
    )
    para(
        "双方当事人认为有必要的，可以自本协议生效之日起三十日内（即"
        "{{ agreement.judicial_confirmation_until | cn_date }}前）共同向人民法院申请司法确认"
        "（《中华人民共和国人民调解法》第三十三条）。"
    )
    para(
        "本协议自各方当事人签名（盖章或按指印）、人民调解员签名并加盖人民调解委员会印章之日起"
        "生效。本协议一式{{ copies }}份，当事人各执一份，人民调解委员会留存一份。"
    )

    doc.add_heading("签名", level=2)
    para("{%p for p in parties %}")
    para("{{ p.side }}（签名/盖章）：{{ p.name }}　______________　　　年　　月　　日")
    para("{%p endfor %}")
    para('人民调解员（签名）：{{ mediators | join("、") }}　______________　　　年　　月　　日')
    para("记录人（签名）：______________")
    para("")
    para("{{ committee }}（印章）", WD_ALIGN_PARAGRAPH.RIGHT)
    para("")
    para("{{ agreement.effective_on | cn_date }}", WD_ALIGN_PARAGRAPH.RIGHT)
    doc.core_properties.title = "人民调解协议书"
    doc.core_properties.author = "综治中心"
    doc.save(str(path))


if __name__ == "__main__":  # python -m mediation.casefiles.documents.docx: rebuild the default
    from mediation.casefiles.documents.templating import SHIPPED

    build_agreement_template(SHIPPED / DOCX_TEMPLATE)
