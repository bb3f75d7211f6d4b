"""Past hotline calls from a call register (来电登记表): the template's columns and the check
of a row.

These are mental-health records: a register without the caller's consent to be called back
is imported de-identified (no callback number, no name or alias, no caller hash), whatever
the row holds. A risk level comes without the structured assessment the live form asks for;
the call records that the register gave only the level."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from mediation.hotline.enums import AgeBand, CallAction, CallChannel, CallType, Gender, RiskLevel
from mediation.hotline.rules import MAX_CALL
from mediation.imports import values as v
from mediation.imports.columns import Column, labels
from mediation.imports.rows import Problem, RowChecker

EARLIEST = datetime(2000, 1, 1)  # a register's calls are this century's


COLUMNS: tuple[Column, ...] = (
    Column("unit", "工作站（单位）", True, "四平市/铁西区/北沟街道/西园社区", "单位代码或全路径"),
    Column("started_at", "来电时间", True, "2021-03-05 14:30", "日期和时间"),
    Column("duration_minutes", "通话时长（分钟）", False, "25"),
    Column("channel", "来电渠道", False, "电话", "留空为电话", labels(CallChannel)),
    Column("call_type", "来电类型", False, "有效来电", "留空为有效来电", labels(CallType)),
    Column("topics", "来电类别", False, "情绪困扰", "代码或名称，多个用“、”分隔"),
    Column("risk_level", "风险等级", False, "低风险", "", labels(RiskLevel)),
    Column("actions", "处置结果", False, "心理疏导", "多个用“、”分隔", labels(CallAction)),
    Column("referral_to", "转介机构", False, ""),
    Column("counselor", "接线咨询师", True, "褚咨询", "姓名或登录账号"),
    Column("consent", "同意回访", False, "否", "“否”或留空：不保存电话和称呼", ("是", "否")),
    Column("callback_number", "回访电话", False, "", "仅在同意回访时保存"),
    Column("caller_alias", "来电人称呼", False, "", "仅在同意回访时保存"),
    Column("caller_gender", "来电人性别", False, "女", "", labels(Gender)),
    Column("caller_age_band", "来电人年龄段", False, "30–44岁", "", labels(AgeBand)),
    Column("summary", "通话摘要", False, "因家庭矛盾情绪低落，疏导后情绪平稳。"),
)


class CallChecker(RowChecker):
    columns = COLUMNS

    def check(self, row_no: int, cells: list[Any]) -> tuple[dict[str, Any] | None, list[Problem]]:
        self.start(row_no, cells)
        take = self.take
        out: dict[str, Any] = self.texts({"referral_to": 200, "summary": 10000, "caller_alias": 50})
        out["unit"] = take("unit", self.unit, True)
        out["started_at"] = take("started_at", self._started, True)
        out["duration_minutes"] = take(
            "duration_minutes", lambda x: v.whole(x, 0, int(MAX_CALL.total_seconds()) // 60)
        )
        out["channel"] = take("channel", lambda x: v.choice(CallChannel, x)) or CallChannel.phone
        out["call_type"] = take("call_type", lambda x: v.choice(CallType, x)) or CallType.valid
        out["topics"] = take("topics", self._topics) or []
        out["risk_level"] = take("risk_level", lambda x: v.choice(RiskLevel, x))
        out["actions"] = take("actions", self._actions) or []
        out["caller_gender"] = take("caller_gender", lambda x: v.choice(Gender, x))
        out["caller_age_band"] = take("caller_age_band", lambda x: v.choice(AgeBand, x))
        out["consent"] = bool(take("consent", v.yes_no))
        out["callback_number"] = take("callback_number", v.phone)
        out["counselor_id"] = take("counselor", self._counselor, True)
        # Without consent nothing that names or reaches the caller is kept (PIPL Art. 28).
        out["deidentified"] = not out["consent"] and bool(
            out["callback_number"] or out["caller_alias"]
        )
        if not out["consent"]:
            out["callback_number"] = out["caller_alias"] = None
        self.once(
            (out["unit"].id if out["unit"] else None, out["started_at"], out["counselor_id"]),
            "工作站、来电时间、接线咨询师",
            "workstation, time and counselor",
        )
        return self.result(out)

    def _started(self, raw: Any) -> datetime:
        at = v.moment(raw)
        opened = self.lookups.hotline_opened_on
        # Not before the hotline opened (the window of a call logged through the API).
        earliest = max(EARLIEST, datetime.combine(opened, time())) if opened else EARLIEST
        if at < earliest or self.to_come(at):
            first = earliest.date().isoformat()
            raise v.BadValue(
                f"来电时间须在热线开通（{first}）以后且不晚于现在（只写日期时不晚于今天；"
                "导入的是历史来电）。",
                f"The call's time lies between the hotline's opening ({first}, "
                "MEDIATION_HOTLINE_OPENED_ON) and now (a date alone: today; an import brings "
                "past calls).",
            )
        return at

    def _topics(self, raw: Any) -> list[str]:
        parse = self.coded(self.lookups.topics, "来电类别", "hotline topic")
        return list(dict.fromkeys(parse(t) for t in v.several(raw)))

    @staticmethod
    def _actions(raw: Any) -> list[str]:
        return list(dict.fromkeys(v.choice(CallAction, a).value for a in v.several(raw)))

    def _counselor(self, raw: Any) -> Any:
        s = str(raw).strip()
        person = self.lookups.counselor_accounts.get(s)
        if person is not None:
            return person
        people = self.lookups.counselor_names.get(s, [])
        if len(people) == 1:
            return people[0]
        if people:
            raise v.BadValue(
                f"有 {len(people)} 位咨询师名为“{s}”：请填写其登录账号。",
                f"{len(people)} counselors are named {s!r}: give the account instead.",
            )
        raise v.BadValue(
            f"您的管辖范围内没有名为“{s}”的咨询师或热线督导（可填姓名或登录账号）。",
            f"No counselor or hotline supervisor {s!r} in your jurisdiction (name or account).",
        )


def ended(rec: dict[str, Any]) -> datetime | None:
    minutes = rec["duration_minutes"]
    return rec["started_at"] + timedelta(minutes=minutes) if minutes is not None else None
