"""Chinese words and sentence templates for generated records: names of places and people, and
the facts, claims and titles of disputes by category. Only variety matters here, not truth."""

from __future__ import annotations

import bisect
import random
from collections.abc import Sequence
from itertools import accumulate
from typing import Generic, TypeVar

T = TypeVar("T")


class Weighted(Generic[T]):
    """A weighted choice with the cumulative weights computed once (rng.choices recomputes
    them on every call)."""

    def __init__(self, items: Sequence[T], weights: Sequence[float]) -> None:
        self.items = list(items)
        self.cum = list(accumulate(weights))
        self.total = self.cum[-1]

    def __call__(self, rng: random.Random) -> T:
        return self.items[bisect.bisect(self.cum, rng.random() * self.total)]


# Common surnames, most frequent first (weights roughly follow their share of the population).
SURNAMES = list(
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段漕钱汤尹黎易常武乔贺赖龚文"
)
SURNAME = Weighted(SURNAMES, [max(1.0, 30.0 / (i + 1) ** 0.7) for i in range(len(SURNAMES))])
GIVEN = list(
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉兰萍红建国志强海燕鹏飞宇浩然子涵梓轩欣怡晨雨佳琪俊杰文博晓东淑珍凤兰玉梅德福春生秋菊冬梅国庆丽娟"
)

STREETS = [
    "北沟街道",
    "南山街道",
    "兴华街道",
    "长发街道",
    "平东街道",
    "英雄街道",
    "站前街道",
    "仁兴街道",
    "地直街道",
    "紫气街道",
    "铁东街道",
    "新华街道",
    "北门街道",
    "七马路街道",
    "平西乡",
    "条子河镇",
    "石岭镇",
    "山门镇",
    "叶赫镇",
    "红嘴街道",
    "东城街道",
    "西郊街道",
]
COMMUNITY_WORDS = [
    "先锋",
    "西园",
    "兴盛",
    "和平",
    "友谊",
    "幸福",
    "光明",
    "团结",
    "建设",
    "新村",
    "春城",
    "阳光",
    "康宁",
    "福民",
    "永安",
    "丰收",
    "胜利",
    "红旗",
    "东风",
    "前进",
    "民主",
    "文化",
    "金桥",
    "银河",
    "铁路",
    "电业",
    "北山",
    "南湖",
    "长青",
    "绿园",
    "翠湖",
    "滨河",
    "安居",
    "康乐",
    "育才",
    "向阳",
    "朝阳",
    "红光",
    "新华",
    "明珠",
]
NUMERALS = "一二三四五六七八九十"


def grid_name(community: str, n: int) -> str:
    word = NUMERALS[n - 1] if n <= 10 else str(n)
    return f"{community}第{word}网格"


# (code, weight) of the migration's dispute categories; skewed as district statistics are:
# neighbourhood and family disputes dominate, land and medical disputes are rare.
CATEGORY_WEIGHTS: dict[str, float] = {
    "neighbourhood": 27.0,
    "marriage_family": 17.0,
    "property_management": 10.0,
    "housing_homestead": 7.0,
    "labour": 7.0,
    "damage_compensation": 6.0,
    "contract": 5.0,
    "traffic_accident": 5.0,
    "consumer": 3.5,
    "production_business": 3.0,
    "land_forest": 2.5,
    "land_acquisition": 2.0,
    "environment": 2.0,
    "medical": 1.0,
    "other": 2.0,
}
# Month multipliers: family disputes peak around Spring Festival, wage arrears before it,
# neighbour disputes (noise, leaks) in summer, heating and property disputes in winter.
CATEGORY_SEASON: dict[str, dict[int, float]] = {
    "marriage_family": {1: 1.5, 2: 1.6, 10: 1.1},
    "labour": {11: 1.4, 12: 1.8, 1: 1.9, 2: 1.2},
    "neighbourhood": {6: 1.3, 7: 1.4, 8: 1.4},
    "property_management": {11: 1.3, 12: 1.4, 1: 1.3},
    "traffic_accident": {12: 1.2, 1: 1.3},
    "land_forest": {4: 1.5, 5: 1.4},
}

SOURCE_WEIGHTS: dict[str, float] = {
    "grid_report": 44.0,
    "walk_in": 15.0,
    "hotline": 12.0,
    "police_referral": 10.0,
    "online": 8.0,
    "court_referral": 4.0,
    "petition_office": 4.0,
    "other_system": 3.0,
}
SOURCE_BY_CATEGORY: dict[str, dict[str, float]] = {
    "traffic_accident": {"police_referral": 4.0, "court_referral": 2.0},
    "labour": {"petition_office": 3.0, "other_system": 2.0},
    "land_acquisition": {"petition_office": 4.0},
    "marriage_family": {"hotline": 1.6, "walk_in": 1.3},
    "medical": {"court_referral": 3.0, "petition_office": 2.0},
}

COMPLEXITY_BY_CATEGORY: dict[str, tuple[float, float, float]] = {
    # (simple, complex, difficult)
    "neighbourhood": (0.86, 0.12, 0.02),
    "marriage_family": (0.78, 0.18, 0.04),
    "land_acquisition": (0.35, 0.45, 0.20),
    "medical": (0.30, 0.45, 0.25),
    "labour": (0.55, 0.35, 0.10),
    "environment": (0.45, 0.40, 0.15),
}
DEFAULT_COMPLEXITY = (0.72, 0.23, 0.05)

PLACES = ["楼上", "楼下", "隔壁", "对门", "同单元", "小区内", "村里", "门市"]
ROOMS = ["101", "102", "201", "202", "301", "302", "401", "402", "501", "502", "601", "602"]

# category → ([(title, what happened)], [claims])
CATEGORY_TEXT: dict[str, tuple[list[tuple[str, str]], list[str]]] = {
    "neighbourhood": (
        [
            ("楼上漏水纠纷", "卫生间漏水导致楼下天花板受损"),
            ("噪音扰民纠纷", "夜间噪音扰民影响休息"),
            ("占用公共楼道纠纷", "长期在楼道堆放杂物"),
            ("宠物扰邻纠纷", "饲养犬只吠叫并随地便溺"),
            ("装修损坏纠纷", "装修时损坏相邻墙体"),
            ("噪音扰民纠纷", "空调外机噪音及滴水"),
        ],
        ["修复漏水并赔偿损失", "停止噪音侵扰", "清理楼道杂物", "赔礼道歉并赔偿维修费用"],
    ),
    "marriage_family": (
        [
            ("赡养纠纷", "子女之间就赡养老人费用分摊发生争执"),
            ("婚姻家庭纠纷", "夫妻因家庭琐事长期争吵"),
            ("抚养费纠纷", "离婚后抚养费未按时支付"),
            ("继承纠纷", "兄弟姐妹就父母遗留房产分割产生矛盾"),
            ("婚姻家庭纠纷", "婆媳矛盾激化"),
        ],
        ["按月支付赡养费", "调解家庭矛盾", "按时支付抚养费", "依法分割遗产"],
    ),
    "property_management": (
        [
            ("物业服务纠纷", "物业公司未履行保洁和维修义务"),
            ("物业费纠纷", "业主以服务不到位为由拒交物业费"),
            ("供暖纠纷", "冬季供暖温度不达标"),
            ("停车位纠纷", "小区停车位分配不公"),
            ("物业服务纠纷", "电梯长期故障无人维修"),
            ("楼上漏水纠纷", "楼顶防水层老化漏水物业拒不维修"),
        ],
        ["物业公司限期整改", "减免部分物业费", "恢复正常供暖", "重新分配车位"],
    ),
    "housing_homestead": (
        [
            ("宅基地边界纠纷", "宅基地界址存在争议"),
            ("房屋租赁纠纷", "租客拖欠房租拒不搬离"),
            ("房屋买卖纠纷", "购房后发现房屋存在质量问题"),
        ],
        ["确认宅基地边界", "支付拖欠房租并腾退房屋", "赔偿维修费用"],
    ),
    "labour": (
        [
            ("拖欠工资纠纷", "施工队拖欠农民工工资"),
            ("劳动报酬纠纷", "用人单位未足额支付加班费"),
            ("工伤赔偿纠纷", "务工期间受伤单位拒绝赔偿"),
        ],
        ["支付拖欠的工资", "足额支付劳动报酬", "赔偿医疗费和误工费"],
    ),
    "damage_compensation": (
        [
            ("人身损害赔偿纠纷", "双方发生口角后推搡致一方受伤"),
            ("财产损害赔偿纠纷", "高空坠物砸坏车辆"),
            ("人身损害赔偿纠纷", "饲养动物致人受伤"),
        ],
        ["赔偿医疗费", "赔偿车辆维修费", "赔礼道歉并赔偿损失"],
    ),
    "contract": (
        [
            ("借款纠纷", "借款到期后拒不归还"),
            ("装修合同纠纷", "装修工程质量不合格"),
            ("合同纠纷", "买卖合同货款未结清"),
        ],
        ["归还借款", "返工或退还部分工程款", "支付剩余货款"],
    ),
    "traffic_accident": (
        [
            ("道路交通事故纠纷", "两车刮擦责任划分有争议"),
            ("交通事故赔偿纠纷", "电动车与行人相撞致人受伤"),
        ],
        ["赔偿车辆维修费", "赔偿医疗费和误工费"],
    ),
}
GENERIC_TEXT = (
    [
        ("民间纠纷", "双方因琐事发生争执"),
        ("经济纠纷", "因经济往来产生矛盾"),
        ("民间纠纷", "因历史遗留问题发生纠纷"),
    ],
    ["依法调解", "赔偿损失", "恢复原状"],
)
DETAILS = [
    "双方多次协商未果",
    "网格员上门了解情况后上报",
    "矛盾有激化苗头",
    "当事人情绪激动",
    "曾于派出所调解但未达成一致",
    "已持续三个多月",
    "涉及多户居民",
    "当事人要求尽快处理",
]

ORG_WORDS = ["宏达", "鑫源", "恒信", "华美", "金鼎", "顺发", "兴业", "博远", "安泰", "润丰"]
ORG_KINDS = [
    "物业管理有限公司",
    "建筑工程有限公司",
    "商贸有限公司",
    "装饰工程有限公司",
    "运输有限公司",
]
RELATIONS = ["父亲", "母亲", "祖父", "祖母", "其他监护人"]
COURTS = ["铁西区人民法院", "四平市中级人民法院"]


def person_name(rng: random.Random) -> str:
    surname = SURNAME(rng)
    return surname + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2, 2))))


def phone(rng: random.Random) -> str:
    return "1" + rng.choice("3578391") + str(rng.randrange(10**8, 10**9))


_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def resident_id(rng: random.Random, born_year: int) -> str:
    body = "220302%04d%02d%02d%03d" % (  # noqa: UP031
        born_year,
        rng.randint(1, 12),
        rng.randint(1, 28),
        rng.randrange(1000),
    )
    total = sum(int(d) * w for d, w in zip(body, _ID_WEIGHTS, strict=True))
    return body + _ID_CHECK[total % 11]


def org(rng: random.Random) -> tuple[str, str]:
    name = "四平市" + rng.choice(ORG_WORDS) + rng.choice(ORG_KINDS)
    code = "91220302" + "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(10))
    return name, code


def case_text(rng: random.Random, category: str, applicant: str) -> tuple[str, str, str]:
    """(title, facts, claims)."""
    kinds, claims = CATEGORY_TEXT.get(category, GENERIC_TEXT)
    title, issue = rng.choice(kinds)
    place = rng.choice(PLACES)
    room = rng.choice(ROOMS)
    facts = (
        f"{applicant}反映：{place}{room}室{issue}，{rng.choice(DETAILS)}，"
        f"{rng.choice(DETAILS)}。经网格员初步核实情况属实，申请调解。"
    )
    return title, facts, f"要求{rng.choice(claims)}。"
