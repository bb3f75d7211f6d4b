"""The seed lists. Categories are those of the people's-mediation monthly report (DOMAIN.md)."""

from __future__ import annotations

from enum import StrEnum


class ReferenceKind(StrEnum):
    """Which list a reference item belongs to.

    - `dispute_category`: 纠纷类别 (dispute category, as in the monthly report)
    - `hotline_topic`: 热线主题 (hotline call topic)
    - `opinion_category`: 意见类别 (opinion / feedback category)
    """

    dispute_category = "dispute_category"
    hotline_topic = "hotline_topic"
    opinion_category = "opinion_category"


# (code, 中文, English)
DISPUTE_CATEGORIES: list[tuple[str, str, str]] = [
    ("marriage_family", "婚姻家庭", "Marriage and family"),
    ("neighbourhood", "邻里", "Neighbourhood"),
    ("housing_homestead", "房屋宅基地", "Housing and homestead"),
    ("contract", "合同", "Contract"),
    ("production_business", "生产经营", "Production and business"),
    ("damage_compensation", "损害赔偿", "Damage compensation"),
    ("land_forest", "山林土地", "Land and forest"),
    ("land_acquisition", "征地拆迁", "Land acquisition and demolition"),
    ("environment", "环境污染", "Environmental pollution"),
    ("labour", "劳动争议", "Labour dispute"),
    ("consumer", "消费", "Consumer"),
    ("medical", "医疗", "Medical"),
    ("traffic_accident", "道路交通事故", "Road traffic accident"),
    ("property_management", "物业", "Property management"),
    ("other", "其它", "Other"),
]

HOTLINE_TOPICS: list[tuple[str, str, str]] = [
    ("minors_mental_health", "未成年人心理健康", "Minors' mental health"),
    ("marriage_family", "婚姻家庭矛盾", "Marriage and family conflict"),
    ("special_family", "特殊家庭心理疏导", "Families in special circumstances"),
    ("emotional_distress", "情绪困扰", "Emotional distress"),
    ("study_work_stress", "学习工作压力", "Study or work stress"),
    ("interpersonal", "人际关系", "Interpersonal relationships"),
    ("other", "其它", "Other"),
]

OPINION_CATEGORIES: list[tuple[str, str, str]] = [
    ("environment_sanitation", "环境卫生", "Environment and sanitation"),
    ("property_services", "物业服务", "Property services"),
    ("public_facilities", "公共设施", "Public facilities"),
    ("safety", "安全隐患", "Safety hazard"),
    ("policy_consultation", "政策咨询", "Policy consultation"),
    ("other", "其它", "Other"),
]

SEED: dict[ReferenceKind, list[tuple[str, str, str]]] = {
    ReferenceKind.dispute_category: DISPUTE_CATEGORIES,
    ReferenceKind.hotline_topic: HOTLINE_TOPICS,
    ReferenceKind.opinion_category: OPINION_CATEGORIES,
}
