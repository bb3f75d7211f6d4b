"""Enumerations of imports (bringing a center's history in from spreadsheets)."""

from __future__ import annotations

from mediation.enums import LabelledEnum, labelled


@labelled
class ImportKind(LabelledEnum):
    """What a file holds; each kind has its template (`GET /imports/templates/{kind}`)."""

    cases = "cases", "矛盾纠纷案件", "Past dispute cases"
    hotline_calls = "hotline_calls", "心理热线来电", "Past hotline calls"
    outreach = "outreach", "法治宣传与公益微课", "Past outreach activities and micro-classes"
    sessions = "sessions", "调解会", "Past mediation sessions of cases"
    opening_balances = "opening_balances", "期初汇总数", "Totals of months without records"


@labelled
class ImportStatus(LabelledEnum):
    """Where an uploaded file stands."""

    validating = "validating", "校验中", "Being validated"
    invalid = "invalid", "校验未通过", "Has problems: nothing can be imported"
    valid = "valid", "校验通过", "Valid: ready to commit"
    committing = "committing", "导入中", "Being imported"
    committed = "committed", "已导入", "Imported"
    failed = "failed", "失败", "The job failed (see the job's error)"
