from __future__ import annotations

from mediation.enums import LabelledEnum, labelled


@labelled
class UnitLevel(LabelledEnum):
    """Level of a node in the jurisdiction tree, from the top down."""

    city = "city", "市", "City"
    district = "district", "区/县", "District or county"
    street = "street", "街道/乡镇", "Street or township"
    community = "community", "社区/村", "Community or village"
    grid = "grid", "网格", "Grid"
    building = "building", "楼栋", "Building"
    unit = "unit", "单元", "Unit (entrance)"


LEVEL_ORDER = list(UnitLevel)


def child_level(level: UnitLevel) -> UnitLevel | None:
    i = LEVEL_ORDER.index(level)
    return LEVEL_ORDER[i + 1] if i + 1 < len(LEVEL_ORDER) else None


@labelled
class Role(LabelledEnum):
    """A role a person holds at a node of the tree; it applies to that node's subtree."""

    system_admin = "system_admin", "系统管理员", "System administrator"
    security_admin = "security_admin", "安全管理员", "Security administrator"
    audit_admin = "audit_admin", "审计管理员", "Audit administrator"
    supervisor = "supervisor", "督办负责人", "Supervisor"
    dispatcher = "dispatcher", "综治中心工作人员", "Dispatcher (center staff)"
    grid_head = "grid_head", "网格长", "Grid head"
    building_head = "building_head", "楼栋长", "Building head"
    unit_head = "unit_head", "单元长", "Unit head"
    owners_committee = "owners_committee", "业委会成员", "Owners' committee member"
    police = "police", "社区民警", "Community police officer"
    legal_advisor = "legal_advisor", "法律顾问", "Legal advisor"
    mediator = "mediator", "人民调解员", "People's mediator"
    judicial_mediator = "judicial_mediator", "司法调解员", "Judicial mediator"
    counselor = "counselor", "心理咨询师", "Psychological counselor"
    hotline_supervisor = "hotline_supervisor", "心理工作站督导", "Counseling workstation supervisor"
