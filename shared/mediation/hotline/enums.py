"""Enumerations of the hotline call log, with their Chinese labels (served by
`/reference/enums`). The risk factors follow the structure of the suicide risk assessment
used by crisis lines: desire, capability, intent, buffers."""

from __future__ import annotations

from mediation.enums import LabelledEnum, labelled


@labelled
class CallChannel(LabelledEnum):
    """How the call reached the hotline."""

    phone = "phone", "电话", "Telephone"
    wechat = "wechat", "微信", "WeChat voice or chat"
    online = "online", "网络咨询", "Online chat"
    other = "other", "其他", "Other"


@labelled
class CallType(LabelledEnum):
    """What kind of call it was."""

    valid = "valid", "有效来电", "Valid call"
    silent = "silent", "沉默来电", "Silent call"
    prank = "prank", "恶作剧来电", "Prank call"
    wrong_number = "wrong_number", "打错电话", "Wrong number"
    abusive = "abusive", "辱骂骚扰来电", "Abusive call"
    hang_up = "hang_up", "接通即挂断", "Hang-up"


@labelled
class AgeBand(LabelledEnum):
    """The caller's age band, as told or estimated by the counselor."""

    under_14 = "under_14", "14岁以下", "Under 14"
    age_14_17 = "14_17", "14–17岁", "14 to 17"
    age_18_29 = "18_29", "18–29岁", "18 to 29"
    age_30_44 = "30_44", "30–44岁", "30 to 44"
    age_45_59 = "45_59", "45–59岁", "45 to 59"
    age_60_plus = "60_plus", "60岁及以上", "60 and over"
    unknown = "unknown", "不详", "Unknown"


# Bands that mean the caller is a minor (under 18).
MINOR_BANDS: frozenset[AgeBand] = frozenset({AgeBand.under_14, AgeBand.age_14_17})


@labelled
class Gender(LabelledEnum):
    """The caller's gender, as told or perceived."""

    female = "female", "女", "Female"
    male = "male", "男", "Male"
    other = "other", "其他", "Other"
    unknown = "unknown", "不详", "Unknown"


@labelled
class RiskLevel(LabelledEnum):
    """The counselor's overall suicide-risk level for the call."""

    none = "none", "无风险", "No risk"
    low = "low", "低风险", "Low"
    medium = "medium", "中风险", "Medium"
    high = "high", "高风险", "High"


RISK_ORDER: list[RiskLevel] = [RiskLevel.none, RiskLevel.low, RiskLevel.medium, RiskLevel.high]


@labelled
class DesireFactor(LabelledEnum):
    """Signs of suicidal desire."""

    ideation = "ideation", "自杀意念", "Suicidal ideation"
    psychological_pain = "psychological_pain", "心理痛苦", "Psychological pain"
    hopelessness = "hopelessness", "无望感", "Hopelessness"
    perceived_burden = "perceived_burden", "自觉是他人负担", "Perceived burden on others"
    feeling_trapped = "feeling_trapped", "感到走投无路", "Feeling trapped"
    intolerably_alone = "intolerably_alone", "难以忍受的孤独", "Feeling intolerably alone"


@labelled
class CapabilityFactor(LabelledEnum):
    """Signs of capability to act on suicidal desire."""

    prior_attempt = "prior_attempt", "既往自杀未遂", "History of suicide attempts"
    exposure_to_death = "exposure_to_death", "接触过死亡或自杀", "Exposure to death by suicide"
    violence = "violence", "暴力史", "History of or current violence"
    available_means = "available_means", "可获得致命手段", "Available means"
    intoxicated = "intoxicated", "当前醉酒或药物影响", "Currently intoxicated"
    substance_abuse = "substance_abuse", "物质滥用", "Substance abuse"
    acute_symptoms = "acute_symptoms", "急性精神症状", "Acute symptoms of mental illness"
    extreme_rage = "extreme_rage", "极度愤怒或激越", "Extreme rage or agitation"


@labelled
class IntentFactor(LabelledEnum):
    """Signs of suicidal intent."""

    attempt_in_progress = "attempt_in_progress", "正在实施自杀", "Attempt in progress"
    plan_with_method = "plan_with_method", "有计划且方法明确", "Plan with a known method"
    preparatory_behaviour = "preparatory_behaviour", "有准备行为", "Preparatory behaviour"
    expressed_intent = "expressed_intent", "表达死亡意图", "Expressed intent to die"


@labelled
class BufferFactor(LabelledEnum):
    """Buffers against suicide (protective factors)."""

    immediate_support = "immediate_support", "身边有人支持", "Immediate supports"
    social_support = "social_support", "社会支持", "Social supports"
    future_plans = "future_plans", "对未来有计划", "Planning for the future"
    engagement = "engagement", "愿意与咨询师合作", "Engagement with the helper"
    ambivalence = "ambivalence", "对死亡存在矛盾心理", "Ambivalence about dying"
    core_values = "core_values", "核心价值或信仰", "Core values or beliefs"
    sense_of_purpose = "sense_of_purpose", "生活目标感", "Sense of purpose"


@labelled
class CallAction(LabelledEnum):
    """What the counselor did during or after the call."""

    counseling = "counseling", "心理疏导", "Counseling"
    crisis_intervention = "crisis_intervention", "危机干预", "Crisis intervention"
    safety_plan = "safety_plan", "制定安全计划", "Safety plan"
    referral_medical = "referral_medical", "转介医疗机构", "Referral to a medical institution"
    referral_other = "referral_other", "转介其他机构", "Referral to another body"
    police_contacted = "police_contacted", "联系公安（110）", "Emergency contact with police (110)"
    ambulance_contacted = "ambulance_contacted", "联系急救（120）", "Emergency contact with 120"
    guardian_contacted = "guardian_contacted", "联系监护人或家属", "Guardian or family contacted"
    information = "information", "信息咨询", "Information given"


@labelled
class ReviewOutcome(LabelledEnum):
    """A supervisor's verdict on how a call was handled."""

    appropriate = "appropriate", "处置得当", "Handled appropriately"
    needs_improvement = "needs_improvement", "需改进", "Needs improvement"
    follow_up_required = "follow_up_required", "需进一步跟进", "Further follow-up required"


@labelled
class DutyRole(LabelledEnum):
    """What a person is on duty for."""

    supervisor = "supervisor", "值班督导", "Supervisor on duty"
    counselor = "counselor", "值班咨询师", "Counselor on duty"


@labelled
class CallEventKind(LabelledEnum):
    """An entry of a call's timeline."""

    created = "created", "登记", "Logged"
    updated = "updated", "修改", "Changed"
    flagged = "flagged", "高危标记", "Flagged as high risk"
    acknowledged = "acknowledged", "督导确认", "Acknowledged by a supervisor"
    reviewed = "reviewed", "督导评议", "Reviewed by a supervisor"
    follow_up_done = "follow_up_done", "完成回访", "Follow-up done"
    case_opened = "case_opened", "转立纠纷案件", "Dispute case opened"
    deidentified = "deidentified", "到期去标识化", "De-identified after the retention period"
    imported = "imported", "历史数据导入", "Imported from a register"


@labelled
class CallSort(LabelledEnum):
    """Order of the call list."""

    newest = "newest", "最新在前", "Newest first (by start)"
    oldest = "oldest", "最早在前", "Oldest first (by start)"
