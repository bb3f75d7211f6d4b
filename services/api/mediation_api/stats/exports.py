"""The monthly report as files an office opens: CSV (UTF-8 with a BOM, so Excel shows Chinese)
and XLSX with native Excel charts (cases by category; received and resolved over 12 months).
Chinese headers; the district's name and the month in the title and the file name."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import xlsxwriter

from mediation.cases.enums import PreventionKind
from mediation.clock import CENTER_TZ, center_date
from mediation.org.enums import LEVEL_ORDER
from mediation.stats.enums import TrendIndicator
from mediation_api.disposition import content_disposition
from mediation_api.stats.contracts import Figures, Share, TrendOut
from mediation_api.stats.service import ReportView, as_of, month_title, place_name

CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Column:
    header: str
    get: Callable[[Figures], Any]
    kind: str = "int"  # int | pct | money | days | text
    width: int = 10


def _change(ind: TrendIndicator, which: str) -> Callable[[Figures], Any]:
    def get(f: Figures) -> Any:
        c = next((c for c in f.changes if c.indicator is ind), None)
        return getattr(c, which) if c else None

    return get


def _share(shares: list[Share], key: str) -> int:
    return next((s.count for s in shares if s.key == key), 0)


def _prevention(kind: PreventionKind, what: str) -> Callable[[Figures], Any]:
    return lambda f: next(getattr(p, what) for p in f.cases.prevention if p.kind is kind)


COLUMNS: list[Column] = [
    Column("单位", lambda f: f.unit.name, "text", 22),
    Column("层级", lambda f: f.unit.level.label_zh, "text", 9),
    Column("收案数", lambda f: f.cases.received),
    Column("受理数", lambda f: f.cases.accepted),
    Column("调解成功数", lambda f: f.cases.resolved),
    Column("调解不成数", lambda f: f.cases.failed),
    Column("撤回数", lambda f: f.cases.withdrawn),
    Column("调解成功率", lambda f: f.cases.success_rate, "pct"),
    Column("协议数", lambda f: f.cases.agreements),
    Column("协议涉及金额（元）", lambda f: f.cases.agreement_amount, "money", 14),
    Column("协议履行数", lambda f: f.cases.agreements_performed),
    Column("主动调解", lambda f: _share(f.cases.intake, "proactive")),
    Column("申请调解", lambda f: _share(f.cases.intake, "application")),
    Column("委托移送", lambda f: _share(f.cases.intake, "referral")),
    Column("化解用时中位数（天）", lambda f: f.cases.resolution_days_median, "days", 12),
    Column("平均化解用时（天）", lambda f: f.cases.resolution_days_mean, "days", 12),
    Column("超期数", lambda f: f.cases.overdue),
    Column("回访数", lambda f: f.cases.follow_ups),
    Column("召开调解会数", lambda f: f.cases.sessions_held),
    *(
        Column(f"预防{k.label_zh}（{unit}）", _prevention(k, what), "int", 12)
        for k in PreventionKind
        for what, unit in (("cases", "件"), ("people", "人"))
    ),
    Column("热线来电数", lambda f: f.hotline.calls if f.hotline else None),
    Column("有效来电数", lambda f: f.hotline.valid_calls if f.hotline else None),
    Column("高风险来电数", lambda f: f.hotline.high_risk if f.hotline else None),
    Column("热线回访数", lambda f: f.hotline.follow_ups_done if f.hotline else None),
    Column("法治宣传活动（场）", lambda f: f.outreach.activities if f.outreach else None),
    Column("宣传参与人数", lambda f: f.outreach.participants if f.outreach else None),
    Column("公益微课（节）", lambda f: f.outreach.micro_classes if f.outreach else None),
    Column("微课参与人数", lambda f: f.outreach.micro_class_participants if f.outreach else None),
    # Totals of months kept only as totals (opening balances) counted in the row.
    Column("含期初汇总数（条）", lambda f: f.opening_balances, "int", 12),
    Column("收案数环比", _change(TrendIndicator.received, "month_on_month"), "pct"),
    Column("收案数同比", _change(TrendIndicator.received, "year_on_year"), "pct"),
    Column("调解成功数环比", _change(TrendIndicator.resolved, "month_on_month"), "pct"),
    Column("调解成功数同比", _change(TrendIndicator.resolved, "year_on_year"), "pct"),
]


@dataclass(frozen=True)
class Naming:
    title: str  # 铁西区2026年10月矛盾纠纷排查化解月报
    subtitle: str
    filename: str  # without extension, Chinese
    ascii_filename: str


def naming(view: ReportView) -> Naming:
    r = view.report
    place = place_name(view.lineage)
    month = month_title(r.year, r.month)
    first = center_date(r.period_start)
    last = (r.period_end.astimezone(CENTER_TZ) - timedelta(days=1)).date()
    balances = view.figures[0].opening_balances if view.figures else 0
    # A report counting totals of months without records says so where it is read first.
    note = f"　含期初汇总数（{balances}条）" if balances else ""
    return Naming(
        title=f"{place}{month}矛盾纠纷排查化解月报",
        subtitle=(
            f"统计周期：{first:%Y年%m月%d日}至{last:%Y年%m月%d日}（北京时间）"
            f"　版本：第{r.version}版（共{view.latest_version}版）"
            f"　生成时间：{as_of(r.computed_at)}{note}"
        ),
        filename=f"{place}{month}矛盾纠纷排查化解月报（第{r.version}版）",
        ascii_filename=f"stats-{view.node.code}-{r.year:04d}-{r.month:02d}-v{r.version}",
    )


def disposition(n: Naming, ext: str) -> str:
    """RFC 6266: an ASCII `filename` for old clients, the Chinese name in `filename*`."""
    return content_disposition(f"{n.filename}.{ext}", f"{n.ascii_filename}.{ext}")


def _plain(value: Any, kind: str) -> Any:
    if value is None:
        return ""
    if kind == "pct":
        return f"{float(value) * 100:.2f}%"
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    return value


def _rows(view: ReportView) -> list[Figures]:
    return view.others if view.others else view.figures[:1]


def to_csv(view: ReportView) -> bytes:
    n = naming(view)
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow([n.title])
    w.writerow([n.subtitle])
    w.writerow([])
    w.writerow([c.header for c in COLUMNS])
    for f in _rows(view):
        w.writerow([_plain(c.get(f), c.kind) for c in COLUMNS])
    node = view.figures[0]
    for heading, shares in (
        ("纠纷类型", node.cases.categories),
        ("受理方式", node.cases.intake),
        ("来源", node.cases.sources),
    ):
        w.writerow([])
        w.writerow([f"{node.unit.name}：按{heading}", "件数", "占比"])
        for s in shares:
            w.writerow([s.label_zh, s.count, _plain(s.share, "pct")])
    # BOM: Excel reads UTF-8 only when the file says so.
    return out.getvalue().encode("utf-8-sig")


def to_xlsx(view: ReportView, trend: TrendOut) -> bytes:
    n = naming(view)
    buffer = io.BytesIO()
    wb = xlsxwriter.Workbook(buffer, {"in_memory": True})
    wb.set_properties({"title": n.title, "subject": "矛盾纠纷排查化解月报"})
    title = wb.add_format({"bold": True, "font_size": 16, "align": "center"})
    sub = wb.add_format({"font_color": "#555555"})
    head = wb.add_format(
        {"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True, "valign": "vcenter"}
    )
    formats = {
        "int": wb.add_format({"border": 1, "num_format": "0"}),
        "pct": wb.add_format({"border": 1, "num_format": "0.00%"}),
        "money": wb.add_format({"border": 1, "num_format": "#,##0.00"}),
        "days": wb.add_format({"border": 1, "num_format": "0.00"}),
        "text": wb.add_format({"border": 1}),
    }
    indented = [wb.add_format({"border": 1, "indent": i}) for i in range(8)]
    total = wb.add_format({"border": 1, "bold": True})

    # 1. The units: the node first (合计), then its subtree.
    ws = wb.add_worksheet("月报")
    ws.merge_range(0, 0, 0, len(COLUMNS) - 1, n.title, title)
    ws.write(1, 0, n.subtitle, sub)
    ws.set_row(3, 36)
    for j, c in enumerate(COLUMNS):
        ws.write(3, j, c.header, head)
        ws.set_column(j, j, c.width)
    base = LEVEL_ORDER.index(view.node.level)
    for i, f in enumerate(_rows(view)):
        for j, c in enumerate(COLUMNS):
            value = c.get(f)
            fmt = formats[c.kind]
            if j == 0:
                depth = LEVEL_ORDER.index(f.unit.level) - base
                fmt = total if depth <= 0 else indented[min(depth, 7)]
            if value is None:
                ws.write_blank(4 + i, j, None, fmt)
            elif isinstance(value, Decimal):
                ws.write_number(4 + i, j, float(value), fmt)
            else:
                ws.write(4 + i, j, value, fmt)
    ws.freeze_panes(4, 1)

    node = view.figures[0]
    # 2. Categories, with a column chart.
    wc = wb.add_worksheet("纠纷类型")
    wc.write(0, 0, f"{n.title}：按纠纷类型", wb.add_format({"bold": True, "font_size": 13}))
    for j, h in enumerate(("纠纷类型", "件数", "占比")):
        wc.write(2, j, h, head)
    cats = node.cases.categories
    for i, s in enumerate(cats):
        wc.write(3 + i, 0, s.label_zh, formats["text"])
        wc.write_number(3 + i, 1, s.count, formats["int"])
        if s.share is None:
            wc.write_blank(3 + i, 2, None, formats["pct"])
        else:
            wc.write_number(3 + i, 2, s.share, formats["pct"])
    wc.set_column(0, 0, 16)
    chart = wb.add_chart({"type": "column"})
    last = 3 + max(len(cats), 1) - 1
    chart.add_series(
        {
            "name": "件数",
            "categories": ["纠纷类型", 3, 0, last, 0],
            "values": ["纠纷类型", 3, 1, last, 1],
            "data_labels": {"value": True},
        }
    )
    chart.set_title(
        {"name": f"{node.unit.name}{month_title(view.report.year, view.report.month)}纠纷类型分布"}
    )
    chart.set_legend({"none": True})
    chart.set_y_axis({"name": "件数", "min": 0})
    chart.set_size({"width": 760, "height": 380})
    wc.insert_chart(2, 4, chart)

    # 3. Twelve months, with a line chart.
    wt = wb.add_worksheet("趋势")
    wt.write(
        0,
        0,
        f"{node.unit.name}近12个月收案与调解成功",
        wb.add_format({"bold": True, "font_size": 13}),
    )
    for j, h in enumerate(("月份", "收案数", "调解成功数", "数据来源")):
        wt.write(2, j, h, head)
    for i, p in enumerate(trend.points):
        wt.write(3 + i, 0, p.month, formats["text"])
        wt.write_number(3 + i, 1, p.received, formats["int"])
        wt.write_number(3 + i, 2, p.resolved, formats["int"])
        wt.write(
            3 + i, 3, f"月报第{p.version}版" if p.version else "按案件实时统计", formats["text"]
        )
    wt.set_column(0, 0, 10)
    wt.set_column(3, 3, 16)
    line = wb.add_chart({"type": "line"})
    end = 3 + len(trend.points) - 1
    for col, name in ((1, "收案数"), (2, "调解成功数")):
        line.add_series(
            {
                "name": name,
                "categories": ["趋势", 3, 0, end, 0],
                "values": ["趋势", 3, col, end, col],
                "marker": {"type": "circle"},
            }
        )
    line.set_title({"name": "近12个月收案与调解成功趋势"})
    line.set_y_axis({"name": "件数", "min": 0})
    line.set_size({"width": 760, "height": 380})
    wt.insert_chart(2, 5, line)

    # 4. The node per mediation channel.
    wm = wb.add_worksheet("调解方式")
    channel_cols = [Column("调解方式", lambda f: f.channel.label_zh, "text", 14), *COLUMNS[2:19]]
    for j, c in enumerate(channel_cols):
        wm.write(0, j, c.header, head)
        wm.set_column(j, j, c.width)
    for i, f in enumerate(view.figures):
        for j, c in enumerate(channel_cols):
            value = c.get(f)
            if value is None:
                wm.write_blank(1 + i, j, None, formats[c.kind])
            elif isinstance(value, Decimal):
                wm.write_number(1 + i, j, float(value), formats[c.kind])
            else:
                wm.write(1 + i, j, value, formats[c.kind])

    # 5. Hotline and outreach of the node.
    wh = wb.add_worksheet("热线与宣传")
    row = 0
    sections: list[tuple[str, list[Share]]] = []
    if node.hotline is not None:
        sections += [
            ("热线来电：按风险等级", node.hotline.by_risk),
            ("热线来电：按主题", node.hotline.by_topic),
        ]
    sections += [("收案：按受理方式", node.cases.intake), ("收案：按来源", node.cases.sources)]
    for heading, shares in sections:
        for j, h in enumerate((heading, "数量", "占比")):
            wh.write(row, j, h, head)
        for i, s in enumerate(shares):
            wh.write(row + 1 + i, 0, s.label_zh, formats["text"])
            wh.write_number(row + 1 + i, 1, s.count, formats["int"])
            if s.share is None:
                wh.write_blank(row + 1 + i, 2, None, formats["pct"])
            else:
                wh.write_number(row + 1 + i, 2, s.share, formats["pct"])
        row += len(shares) + 2
    if node.outreach is not None:
        o = node.outreach
        for j, h in enumerate(("法治宣传与公益微课", "数量")):
            wh.write(row, j, h, head)
        for i, (label, value) in enumerate(
            (
                ("法治宣传活动（场）", o.activities),
                ("宣传参与人数", o.participants),
                ("公益微课（节）", o.micro_classes),
                ("微课参与人数", o.micro_class_participants),
            )
        ):
            wh.write(row + 1 + i, 0, label, formats["text"])
            wh.write_number(row + 1 + i, 1, value, formats["int"])
    wh.set_column(0, 0, 24)
    wb.close()
    return buffer.getvalue()
