"""The demo county's region tree at the scale of 周村区 in 000_a6a1084fb0cf220e.txt
(周政办字〔2017〕109号): five streets and four towns (their names as in the district), with
invented communities and villages. Codes follow 统计用区划代码 (the county is 370306, as in
DOMAIN.md); township and village codes are invented."""

PROVINCE = ("370000000000", "山东省")
CITY = ("370300000000", "淄博市")
COUNTY = ("370306000000", "周村区")

# (township code suffix, name, kind) — streets have 社区 (communities), towns have 村 (villages).
TOWNSHIPS = [
    ("001", "丝绸路街道", "street"),
    ("002", "大街街道", "street"),
    ("003", "青年路街道", "street"),
    ("004", "永安街道", "street"),
    ("005", "城北路街道", "street"),
    ("100", "北郊镇", "town"),
    ("101", "南郊镇", "town"),
    ("102", "王村镇", "town"),
    ("103", "萌水镇", "town"),
]

_COMMUNITY_STEMS = (
    "丝绸 银子 绣花 棉花 新华 长行 正阳 和平 东门 西门 书院 千佛 芙蓉 永和 汇龙 古商 朝阳 兴华".split()
)
_VILLAGE_STEMS = (
    "李家 王家 张家 刘家 孙家 赵家 高家 徐家 马家 吕家 郭家 石家 韩家 彭家 杜家 黄家 田家 宋家 "
    "东坡 西坡 南河 北河 小庄 大庄 前营 后营 柳行 桑园 杏林 梨园 荆山 凤山 泉头 石桥 安仁 崔军"
).split()


def tree() -> list[tuple[str, str, str | None]]:
    """[(code, name, parent code)] parents first; deterministic."""
    rows = [
        (PROVINCE[0], PROVINCE[1], None),
        (CITY[0], CITY[1], PROVINCE[0]),
        (COUNTY[0], COUNTY[1], CITY[0]),
    ]
    for t_index, (suffix, name, kind) in enumerate(TOWNSHIPS):
        t_code = f"370306{suffix}000"
        rows.append((t_code, name, COUNTY[0]))
        if kind == "street":
            count = 8 + t_index  # 8–12 communities
            for i in range(count):
                stem = _COMMUNITY_STEMS[(t_index * 5 + i) % len(_COMMUNITY_STEMS)]
                rows.append((f"370306{suffix}{i + 1:03d}", f"{stem}社区", t_code))
        else:
            count = 22 + 4 * (t_index - 5)  # 22–34 villages
            for i in range(count):
                stem = _VILLAGE_STEMS[(t_index * 11 + i) % len(_VILLAGE_STEMS)]
                suffix_name = "村" if i < len(_VILLAGE_STEMS) else f"{i // len(_VILLAGE_STEMS) + 1}村"
                rows.append((f"370306{suffix}{200 + i + 1:03d}", f"{stem}{suffix_name}", t_code))
    return rows
