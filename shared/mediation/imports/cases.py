"""Past cases from a register (台账): the template's columns and the validation of a row.

A row is one case with its applicant and (optionally) respondent, its outcome and, where
known, its agreement, performance, follow-up and closing. Validation needs only lookups
(units, categories, numbers already used) given to it, so it is the same in the dry run and
in the commit, which validates again before writing anything."""

from __future__ import annotations

import functools
import re
from typing import Any

from mediation.cases.enums import (
    CaseSource,
    CaseStatus,
    Complexity,
    PerformanceStatus,
    RiskColour,
    Satisfaction,
)
from mediation.imports import values as v
from mediation.imports.columns import Column, labels
from mediation.imports.rows import Finder, Lookups, Problem, RowChecker, UnitRef

OUTCOMES = (CaseStatus.resolved, CaseStatus.failed, CaseStatus.withdrawn, CaseStatus.rejected)


COLUMNS: tuple[Column, ...] = (
    Column("number", "原案号", False, "铁西调〔2021〕0005号", "留空则按年度顺序编号"),
    Column("title", "案件名称", True, "张某与李某邻里噪音纠纷"),
    Column("facts", "纠纷事实", True, "楼上装修噪音影响休息，双方多次争吵。"),
    Column("claims", "当事人诉求", False, "停止夜间施工"),
    Column("category", "纠纷类型", True, "邻里", "代码或名称"),
    Column("source", "来源", True, "来访", "", labels(CaseSource)),
    Column("complexity", "复杂程度", True, "简单", "", labels(Complexity)),
    Column("risk_colour", "风险等级", True, "黄色", "", labels(RiskColour)),
    Column("unit", "发生地（单位）", True, "四平市/铁西区/北沟街道/先锋社区", "单位代码或全路径"),
    Column("address", "详细地址", False, "先锋社区1号楼2单元"),
    Column("occurred_on", "发生日期", False, "2021-03-01"),
    Column("amount_involved", "涉及金额（元）", False, "5000"),
    Column("received_on", "登记日期", True, "2021年3月5日"),
    Column("accepted_on", "受理日期", False, "2021-03-06"),
    Column("outcome", "办理结果", True, "调解成功", "", tuple(s.label_zh for s in OUTCOMES)),
    Column("outcome_on", "办结日期", True, "2021-03-20"),
    Column("outcome_note", "结果说明", False, ""),
    Column("applicant_name", "申请人姓名", True, "张三"),
    Column("applicant_phone", "申请人电话", False, "13900000001"),
    Column("applicant_id_number", "申请人身份证号", False, "11010519491231002X", "设为文本格式"),
    Column("respondent_name", "被申请人姓名", False, "李四"),
    Column("respondent_phone", "被申请人电话", False, "13900000002"),
    Column("respondent_id_number", "被申请人身份证号", False, ""),
    Column("agreement_terms", "协议内容", False, "李某夜间不再施工，赔偿张某500元。"),
    Column("agreement_amount", "协议金额（元）", False, "500"),
    Column("performance", "履行情况", False, "已履行", "", labels(PerformanceStatus)),
    Column("followed_up_on", "回访日期", False, "2021-04-10"),
    Column("satisfaction", "回访满意度", False, "满意", "", labels(Satisfaction)),
    Column("closed_on", "结案日期", False, "2021-04-15"),
)

# The register's dates follow each other.
CASE_DATES = (
    ("occurred_on", "发生日期"),
    ("received_on", "登记日期"),
    ("accepted_on", "受理日期"),
    ("outcome_on", "办结日期"),
    ("followed_up_on", "回访日期"),
    ("closed_on", "结案日期"),
)
_NUMBER = (
    re.compile(r"^.{1,12}调〔(\d{4})〕(\d{1,6})号$"),
    re.compile(r"^\d{6}-(\d{4})-(\d{1,6})$"),
)


def parse_number(value: str) -> tuple[int, int] | None:
    for pattern in _NUMBER:
        m = pattern.match(value)
        if m:
            return int(m.group(1)), int(m.group(2))
    return None


class CaseChecker(RowChecker):
    """A row is one case; numbers are checked against the database once, at the end."""

    columns = COLUMNS

    def __init__(self, lookups: Lookups, positions: dict[str, int], headers: list[str]) -> None:
        super().__init__(lookups, positions, headers)
        # number -> (row, its ASCII form): checked against the database once, at the end.
        self.seen_numbers: dict[str, tuple[int, str | None]] = {}

    def check(self, row_no: int, cells: list[Any]) -> tuple[dict[str, Any] | None, list[Problem]]:
        self.start(row_no, cells)
        take, bad = self.take, self.bad
        out: dict[str, Any] = self.texts(
            {
                "title": 200,
                "facts": 10000,
                "claims": 10000,
                "address": 300,
                "outcome_note": 2000,
                "applicant_name": 200,
                "respondent_name": 200,
                "agreement_terms": 10000,
                "number": 40,
            }
        )
        out["source"] = take("source", lambda x: v.choice(CaseSource, x), True)
        out["complexity"] = take("complexity", lambda x: v.choice(Complexity, x), True)
        out["risk_colour"] = take("risk_colour", lambda x: v.choice(RiskColour, x), True)
        out["performance"] = take("performance", lambda x: v.choice(PerformanceStatus, x))
        out["satisfaction"] = take("satisfaction", lambda x: v.choice(Satisfaction, x))
        out["outcome"] = take("outcome", self._outcome, True)
        out["category"] = take(
            "category", self.coded(self.lookups.categories, "纠纷类型", "dispute category"), True
        )
        past = functools.partial(v.past_day, today=self.lookups.today)
        for key in ("occurred_on", "received_on", "accepted_on", "outcome_on"):
            out[key] = take(key, past, key in ("received_on", "outcome_on"))
        for key in ("followed_up_on", "closed_on"):
            out[key] = take(key, past)
        out["amount_involved"] = take("amount_involved", v.amount)
        out["agreement_amount"] = take("agreement_amount", v.amount)
        resident_id = functools.partial(v.resident_id, today=self.lookups.today)
        for side in ("applicant", "respondent"):
            out[f"{side}_phone"] = take(f"{side}_phone", v.phone)
            out[f"{side}_id_number"] = take(f"{side}_id_number", resident_id)
        unit = take("unit", self.unit, True)
        out["unit"] = unit

        v.in_order(out, CASE_DATES, bad)
        self._number(out, unit, row_no)
        if out["respondent_name"] is None and (
            out["respondent_phone"] or out["respondent_id_number"]
        ):
            bad("respondent_name", "填写了被申请人信息但缺少姓名。", "A respondent needs a name.")
        if out["satisfaction"] is not None and out["followed_up_on"] is None:
            bad(
                "followed_up_on",
                "填写了满意度但缺少回访日期。",
                "A satisfaction needs the visit date.",
            )
        self.once(
            (out["title"], out["applicant_name"], out["received_on"], unit.id if unit else None),
            "案件名称、申请人、登记日期、发生地",
            "title, applicant, date and place",
        )
        return self.result(out)

    def _outcome(self, raw: Any) -> CaseStatus:
        status = v.choice(CaseStatus, raw)
        if status not in OUTCOMES:
            raise v.BadValue(
                "办理结果须为：" + "、".join(s.label_zh for s in OUTCOMES) + "。",
                "The outcome is one of: " + ", ".join(s.value for s in OUTCOMES) + ".",
            )
        return status

    def _number(self, out: dict[str, Any], unit: UnitRef | None, row_no: int) -> None:
        number = out.get("number")
        out["number_parts"] = None
        if number is None:
            return
        parts = parse_number(number)
        if parts is None:
            self.bad(
                "number",
                f"无法识别的案号“{number}”（应如 铁西调〔2021〕0005号 或 220302-2021-0005）。",
                f"Unrecognised case number {number!r} (like 铁西调〔2021〕0005号 or "
                "220302-2021-0005).",
            )
            return
        out["number_parts"] = parts
        first = self.seen_numbers.get(number)
        if first is not None:
            self.bad(
                "number", f"案号与第 {first[0]} 行重复。", f"The same number as row {first[0]}."
            )
            return
        ascii_ = None
        if unit is not None and unit.district_code:
            ascii_ = f"{unit.district_code}-{parts[0]}-{parts[1]:04d}"
        out["number_ascii"] = ascii_
        self.seen_numbers[number] = (row_no, ascii_)

    async def finish(self, finder: Finder) -> list[Problem]:
        """Numbers of the file that other cases (not this file's) already have."""
        if not self.seen_numbers:
            return []
        used = await finder.numbers_used(
            set(self.seen_numbers) | {a for _, a in self.seen_numbers.values() if a is not None}
        )
        return [
            self.problem(
                "number",
                f"案号“{number}”已被其他案件使用。",
                f"The number {number!r} is already used by another case.",
                row_no,
            )
            for number, (row_no, ascii_) in self.seen_numbers.items()
            if number in used or (ascii_ is not None and ascii_ in used)
        ]
