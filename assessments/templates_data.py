"""The seeds' targets as target templates (DOMAIN.md §7: one per seed document, each item citing
its clause), written by data migration 0003 and re-read by tests that flush the database.

Plain data. Each item: indicator, the year it applies from (a "by 2020" target applies from
2020; a target stated for 2018 year-end from 2018), the value (percent with 2 decimals, counts
as integers) and the clause — its number in the document and a short quote of the sentence with
the number. Health staff apply a template to a region (assessments/target_services.py), which
writes the region's `Target`s; the template itself is edited on the admin site.

The NURSING_BED_SHARE target comes from a national plan, not from a seed, and ships as its own
template (no seed file). 002 四(一)'s hospice target ("one more by 2025") has no fixed number:
it is in that template's note, and staff set it by hand on the targets page.
"""

from decimal import Decimal

P = Decimal  # percent values are written as strings with 2 decimals below

TEMPLATES = [
    dict(
        seed_file="000_a6a1084fb0cf220e.txt",
        doc_no="周政办字〔2017〕109号",
        title="周村区加快推进医养结合工作的实施方案",
        issuer="周村区人民政府办公室",
        place="山东省淄博市周村区",
        note=(
            "2017年9月8日印发。2017 年的目标（一级以上医院为入住养老机构老年人提供医疗服务、开通就医绿色通道；"
            "基层医疗卫生机构提供健康管理服务）没有可核算的比例，未列为条目。"
            "五(三) 的工作评估体系（落实医养结合政策情况、医养结合服务覆盖率、无缝对接程度、护理服务质量、老年人满意度）"
            "对应指标目录的五个评价维度和综合评分的权重。"
        ),
        items=[
            dict(
                indicator="YL_MED_COVERAGE",
                year=2020,
                value=P("100.00"),
                clause="二 工作目标：“到 2020 年，……所有养老机构能够以不同形式为入住老年人提供医疗护理服务。”",
            ),
            dict(
                indicator="GREEN_CHANNEL_RATE",
                year=2020,
                value=P("100.00"),
                clause="二 工作目标：“到 2020 年，……所有医疗卫生机构为老年人就医开辟绿色通道”",
            ),
            dict(
                indicator="YL_INSTITUTIONS",
                year=2020,
                value=Decimal("20"),
                clause="一 医养结合工作基础：“2020 年养老服务机构达到 20 家，落实床位 4200 床。”",
                note="原文为“养老服务机构”；平台按运营中的入住型养老机构计数。",
            ),
            dict(
                indicator="YL_BEDS",
                year=2020,
                value=Decimal("4200"),
                clause="一 医养结合工作基础：“2020 年养老服务机构达到 20 家，落实床位 4200 床。”",
                note="平台按运营中的入住型养老机构的核定养老床位合计。",
            ),
        ],
    ),
    dict(
        seed_file="001_8ffd31154bc4d7b9.txt",
        doc_no="冯政发〔2018〕24号",
        title="关于创建市级医养结合示范镇的工作方案",
        issuer="冯卯镇人民政府",
        place="山东省枣庄市冯卯镇",
        note=(
            "原文未写印发日期。“发展目标”在原文中编号为“（3）”，即二、总体要求下的第（三）项，本模板记为 二(三)。"
            "“到2018年年底”“到2020年年底”的目标分别自 2018、2020 年起适用（报表按 12 月 31 日评价）。"
        ),
        items=[
            dict(
                indicator="YL_MED_COVERAGE",
                year=2018,
                value=P("80.00"),
                clause="二(三) 发展目标：“到2018年年底，……80%以上的养老机构提供医疗护理服务。”",
            ),
            dict(
                indicator="YL_MED_COVERAGE",
                year=2020,
                value=P("100.00"),
                clause="二(三) 发展目标：“到2020年年底，……所有养老机构为入住老年人提供医疗护理服务。”",
            ),
            dict(
                indicator="GREEN_CHANNEL_RATE",
                year=2018,
                value=P("90.00"),
                clause="二(三) 发展目标：“到2018年年底，……90%以上的医疗机构为老年人提供就医绿色通道”",
            ),
            dict(
                indicator="GREEN_CHANNEL_RATE",
                year=2020,
                value=P("100.00"),
                clause="二(三) 发展目标：“到2020年年底，……所有医疗机构为老年人提供就医绿色通道”",
            ),
            dict(
                indicator="FD_SIGNING_RATE",
                year=2018,
                value=P("70.00"),
                clause="二(三) 发展目标：“到2018年年底，……家庭医生签约服务力争覆盖70%以上的常住老年人群”",
                note="原文未写年龄；平台按60岁以上常住老年人计算（一(三)：对60岁以上老年人的签约服务）。",
            ),
            dict(
                indicator="FD_SIGNING_RATE",
                year=2020,
                value=P("100.00"),
                clause="二(三) 发展目标：“到2020年年底，……家庭医生签约服务力争覆盖所有常住老年人群”",
                note="原文未写年龄；平台按60岁以上常住老年人计算。",
            ),
            dict(
                indicator="HEALTH_MGMT_RATE",
                year=2020,
                value=P("75.00"),
                clause="二(三) 发展目标：“到2020年年底，……65岁以上老年人健康管理率达到75%以上。”",
            ),
            dict(
                indicator="VILLAGE_CENTER_RATE",
                year=2020,
                value=P("66.66"),
                clause="二(三) 发展目标：“到2020年年底，……全镇三分之二的行政村建成养老服务中心”",
                note="三分之二（66.666…%）：目标值保留两位小数，取 66.66%，使恰好三分之二的行政村建成即为达标。",
            ),
        ],
    ),
    dict(
        seed_file="002_143d69c61604bf96.txt",
        doc_no="东政办〔2022〕42号",
        title="东山县人民政府办公室关于加快推进医养结合发展的实施意见",
        issuer="东山县人民政府办公室",
        place="福建省漳州市东山县",
        note=(
            "2022年7月26日印发，自印发之日起实施，有效期5年。"
            "四(一)“2025年底，争取新增一家医疗机构设立安宁疗护中心”是在现有数量上加一的计数目标"
            "（提供安宁疗护服务的医疗机构数 HOSPICE_SERVICES），没有固定数值，不作为模板条目："
            "请在“目标”页为本县手工设定 2025 年的目标（现有数 + 1）。"
            "一“我县至少有一家公立医疗机构举办非营利性养老服务机构”和五(二) 医养结合在绩效考核中“占比不低于8%”"
            "不是平台指标的目标，未列入。"
        ),
        items=[
            dict(
                indicator="YL_MED_COVERAGE",
                year=2023,
                value=P("100.00"),
                clause="一 进一步推动构建医养结合发展模式：“力争到2023年，100%的养老服务机构能开展医养结合服务”",
            ),
        ],
    ),
    dict(
        seed_file="003_596fed3f93511451.txt",
        doc_no="**市**区推进医养结合工作的实施方案",
        title="**市**区推进医养结合工作的实施方案",
        issuer="**市**区（已匿名）",
        place="四川省某区（已匿名）",
        note=(
            "原文没有文号，以标题作为文件标识。原文的年份已错乱：所依据的国务院文件写作“国办发〔2025〕84号”"
            "（首行又作〔2024〕），实为2015年11月印发的国办发〔2015〕84号；省级规划写作“(2025--2025年)”；"
            "文中仍称“卫生计生部门”（2018年机构改革前的名称）。因此本方案应制定于2016—2018年间。"
            "二(二)5 与 二(三)9 的要求没有期限（“应设立”“设立”），自方案实施起适用，取最早可能的年份 2016 年。"
            "一“到2025年……所有医疗机构开辟老年人医疗救治绿色通道，所有养老机构能够以不同形式为入住老年人提供医疗护理服务”"
            "与国办发〔2015〕84号及周政办字〔2017〕109号 二 中“到2020年”的目标逐字相同，年份按 2020 年录入。"
            "应用前可请系统管理员在后台调整年份，应用后也可在“目标”页修改。"
        ),
        items=[
            dict(
                indicator="YL_MED_COVERAGE",
                year=2020,
                value=P("100.00"),
                clause="一 工作目标：“到2025年，……所有养老机构能够以不同形式为入住老年人提供医疗护理服务。”",
                note="原文年份错乱（写作2025年），按2020年录入，见模板说明。",
            ),
            dict(
                indicator="GREEN_CHANNEL_RATE",
                year=2020,
                value=P("100.00"),
                clause="一 工作目标：“到2025年，……所有医疗机构开辟老年人医疗救治绿色通道”",
                note="原文年份错乱（写作2025年），按2020年录入，见模板说明。",
            ),
            dict(
                indicator="BIG_YL_MED_UNIT_RATE",
                year=2016,
                value=P("100.00"),
                clause="二(二)5：“100张床位以上的养老机构应设立医务室、护理站或配备适应工作需要的医护人员。”",
                note="原文无期限，自方案实施起适用；取最早可能的年份 2016 年，见模板说明。",
            ),
            dict(
                indicator="GERIATRIC_DEPT_RATE",
                year=2016,
                value=P("100.00"),
                clause="二(三)9：“二级及以上医疗机构设立老年病科，逐步增加老年病床位”",
                note="原文为二级及以上医疗机构；平台按二级及以上综合医院、中医医院计算。原文无期限，取 2016 年。",
            ),
        ],
    ),
    dict(
        seed_file="004_b5b0377e4d18a956.txt",
        doc_no="珠府办〔2016〕25号",
        title="珠海市推进医养结合工作实施方案",
        issuer="珠海市人民政府办公室",
        place="广东省珠海市",
        note=(
            "2016年9月16日印发。二 中“各区完成至少一所公办养老机构和基层医疗卫生机构的医养结合”（2016年）"
            "与“100%的居家养老纳入家庭病床建床对象”（2017年）没有对应的平台指标，未列入。"
        ),
        items=[
            dict(
                indicator="GOV_YL_MED_COVERAGE",
                year=2017,
                value=P("80.00"),
                clause="二 工作目标：“2017年，……80%的政府举办养老机构实现医养结合覆盖”",
            ),
            dict(
                indicator="GOV_YL_MED_COVERAGE",
                year=2018,
                value=P("100.00"),
                clause="二 工作目标：“2018年，政府举办养老机构实现医养结合全覆盖。”",
            ),
            dict(
                indicator="GREEN_CHANNEL_RATE",
                year=2016,
                value=P("100.00"),
                clause="二 工作目标：“2016年，……全市100%的公立医疗机构和社区医疗卫生机构开通老年人就诊服务绿色通道”",
                note="原文对象为公立医疗机构和社区医疗卫生机构；平台指标按全部医疗机构（不含专业公共卫生机构）计算。",
            ),
            dict(
                indicator="FAMILY_BED_RATE",
                year=2016,
                value=P("80.00"),
                clause="二 工作目标：“2016年，全市80%以上的基层医疗卫生机构开展居家养老家庭病床服务”",
            ),
        ],
    ),
    dict(
        seed_file="",
        doc_no="国发〔2021〕35号",
        title="“十四五”国家老龄事业发展和养老服务体系规划",
        issuer="国务院",
        place="全国",
        note=(
            "国家规划，不是本平台的种子文件（DOMAIN.md §7 采用其养老机构护理型床位占比目标）。"
            "2021年11月24日印发；目标年份为“十四五”末（2025年）。"
        ),
        items=[
            dict(
                indicator="NURSING_BED_SHARE",
                year=2025,
                value=P("55.00"),
                clause="主要指标：“养老机构护理型床位占比”，2025年达到55%",
            ),
        ],
    ),
]


def install(apps=None) -> None:
    """Write the templates and their items (idempotent: existing rows keep their edits)."""
    if apps is None:
        from django.apps import apps as _apps

        apps = _apps
    TargetTemplate = apps.get_model("assessments", "TargetTemplate")
    TargetTemplateItem = apps.get_model("assessments", "TargetTemplateItem")
    for row in TEMPLATES:
        fields = {k: v for k, v in row.items() if k not in ("doc_no", "items")}
        template, _created = TargetTemplate.objects.get_or_create(doc_no=row["doc_no"], defaults=fields)
        for item in row["items"]:
            TargetTemplateItem.objects.get_or_create(
                template=template,
                indicator_id=item["indicator"],
                year=item["year"],
                defaults={"value": item["value"], "clause": item["clause"], "note": item.get("note", "")},
            )
