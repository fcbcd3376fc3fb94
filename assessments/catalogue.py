"""The shipped catalogue (DOMAIN.md §7), written by data migration 0002 and re-read by tests
that flush the database (transaction=True). Plain data; edit the rows on the admin site."""

from decimal import Decimal

# code, name, definition, numerator, denominator, unit, source, formula or (num, den) fields,
# dimension (000 五(三)), order
INDICATORS = [
    dict(
        code="YL_MED_COVERAGE", name="养老服务机构医养结合服务覆盖率", unit="percent", source="computed",
        formula="yl_med_coverage", dimension="coverage",
        definition="D 日运营中的养老服务机构（全部类型）中，通过内设医疗机构、医疗机构举办或有效签约提供医疗服务的比例。",
        numerator_label="提供医疗服务的运营中养老服务机构数", denominator_label="运营中的养老服务机构数",
        source_doc="000 二；001；东政办〔2022〕42号 一",
    ),
    dict(
        code="GOV_YL_MED_COVERAGE", name="政府办养老机构医养结合服务覆盖率", unit="percent", source="computed",
        formula="gov_yl_med_coverage", dimension="coverage",
        definition="D 日运营中的政府办（公办公营、公建民营）入住型养老机构中提供医疗服务的比例。",
        numerator_label="提供医疗服务的政府办入住型养老机构数", denominator_label="运营中的政府办入住型养老机构数",
        source_doc="珠府办〔2016〕25号 二",
    ),
    dict(
        code="GREEN_CHANNEL_RATE", name="医疗机构开通老年人绿色通道比例", unit="percent", source="computed",
        formula="green_channel", dimension="connection",
        definition="D 日运营中的医疗卫生机构（不含专业公共卫生机构）中开通老年人就医绿色通道的比例；未填报的不计入分子分母，计为缺失。",
        numerator_label="开通绿色通道的医疗机构数", denominator_label="已填报的运营中医疗机构数（不含专业公共卫生机构）",
        source_doc="000；001；珠府办〔2016〕25号",
    ),
    dict(
        code="FAMILY_BED_RATE", name="基层医疗卫生机构开展家庭病床比例", unit="percent", source="computed",
        formula="family_bed", dimension="connection",
        definition="D 日运营中的基层医疗卫生机构（社区卫生服务中心/站、乡镇卫生院、村卫生室、门诊部、诊所）中开设家庭病床的比例。",
        numerator_label="开设家庭病床的基层医疗卫生机构数", denominator_label="已填报的运营中基层医疗卫生机构数",
        source_doc="珠府办〔2016〕25号",
    ),
    dict(
        code="FD_SIGNING_RATE", name="60岁以上常住老年人家庭医生签约率", unit="percent", source="reported",
        reported_numerator="fd_signed60", reported_denominator="pop60", dimension="coverage",
        definition="已审核的乡镇年报中，家庭医生签约的60岁以上老年人数之和除以60岁以上常住老年人数之和。",
        numerator_label="家庭医生签约60岁以上老年人数", denominator_label="60岁以上常住老年人数",
        source_doc="001",
    ),
    dict(
        code="HEALTH_MGMT_RATE", name="65岁以上老年人健康管理率", unit="percent", source="reported",
        reported_numerator="health_managed65", reported_denominator="pop65", dimension="quality",
        definition="已审核的乡镇年报中，65岁以上老年人健康管理人数之和除以65岁以上常住老年人数之和。",
        numerator_label="65岁以上老年人健康管理人数", denominator_label="65岁以上常住老年人数",
        source_doc="001",
    ),
    dict(
        code="BIG_YL_MED_UNIT_RATE", name="百张床位以上养老机构内设医疗机构或配备医护人员比例", unit="percent",
        source="computed", formula="big_yl_med_unit", dimension="quality",
        definition="D 日运营中、核定养老床位100张及以上的入住型养老机构中，设有内设医疗机构或配备至少1名执业医师或护士的比例。",
        numerator_label="设内设医疗机构或配备医护人员的机构数", denominator_label="运营中100张床位以上的入住型养老机构数",
        source_doc="003",
    ),
    dict(
        code="GERIATRIC_DEPT_RATE", name="二级及以上综合医院、中医医院设老年病科比例", unit="percent",
        source="computed", formula="geriatric_dept", dimension="quality",
        definition="D 日运营中二级及以上综合医院、中医医院中设老年病科的比例；未填报的计为缺失。",
        numerator_label="设老年病科的医院数", denominator_label="已填报的运营中二级及以上综合医院、中医医院数",
        source_doc="003",
    ),
    dict(
        code="YL_INSTITUTIONS", name="运营中入住型养老机构数", unit="count", source="computed",
        formula="yl_institutions", dimension="policy",
        definition="D 日运营中的入住型养老机构（不含日间照料中心、农村幸福院）数。",
        numerator_label="机构数", source_doc="000 一",
    ),
    dict(
        code="YL_BEDS", name="入住型养老机构核定床位数", unit="beds", source="computed",
        formula="yl_beds", dimension="policy",
        definition="D 日运营中的入住型养老机构核定养老床位之和。",
        numerator_label="核定养老床位数", source_doc="000 一",
    ),
    dict(
        code="NURSING_BED_SHARE", name="护理型床位占比", unit="percent", source="computed",
        formula="nursing_bed_share", dimension="quality",
        definition="D 日运营中的入住型养老机构护理型床位之和除以核定养老床位之和；床位未填报的机构计为缺失。",
        numerator_label="护理型床位数", denominator_label="核定养老床位数",
        source_doc="国发〔2021〕35号",
    ),
    dict(
        code="HOSPICE_SERVICES", name="提供安宁疗护服务的医疗机构数", unit="count", source="computed",
        formula="hospice_services", dimension="quality",
        definition="D 日运营中提供安宁疗护服务（标记为提供或机构类型为安宁疗护中心）的医疗卫生机构数。",
        numerator_label="机构数", source_doc="东政办〔2022〕42号 四(一)",
    ),
    dict(
        code="VILLAGE_CENTER_RATE", name="行政村建有养老服务中心比例", unit="percent", source="reported",
        reported_numerator="villages_with_center", reported_denominator="villages", dimension="coverage",
        definition="已审核的乡镇年报中，建有养老服务中心的行政村数之和除以行政村数之和。",
        numerator_label="建有养老服务中心的行政村数", denominator_label="行政村数",
        source_doc="001",
    ),
    dict(
        code="SATISFACTION", name="老年人满意度", unit="score", source="reported",
        reported_numerator="satisfaction", dimension="satisfaction",
        definition="已审核的乡镇年报中老年人满意度（0–100）的算术平均。",
        numerator_label="满意度得分", source_doc="000 五(三)",
    ),
]

REPORTED_FIELDS = [
    dict(code="pop60", name="60岁以上常住老年人数", synonyms=["60岁以上老年人数", "常住老年人数"]),
    dict(code="fd_signed60", name="家庭医生签约60岁以上老年人数", synonyms=["家庭医生签约老年人数", "签约老年人数"],
         not_above="pop60"),
    dict(code="pop65", name="65岁以上常住老年人数", synonyms=["65岁以上老年人数"]),
    dict(code="health_managed65", name="65岁以上老年人健康管理人数", synonyms=["健康管理人数"], not_above="pop65"),
    dict(code="villages", name="行政村数", synonyms=["村数"]),
    dict(code="villages_with_center", name="建有养老服务中心的行政村数", synonyms=["建有养老服务中心村数"],
         not_above="villages"),
    dict(code="satisfaction", name="老年人满意度", synonyms=["满意度"], max_value=Decimal("100"), decimals=1),
]


def install(apps=None) -> None:
    """Write the catalogue (idempotent: existing rows keep their edited weights/names)."""
    if apps is None:
        from django.apps import apps as _apps

        apps = _apps
    Indicator = apps.get_model("assessments", "Indicator")
    ReportedField = apps.get_model("assessments", "ReportedField")
    for i, row in enumerate(REPORTED_FIELDS):
        ReportedField.objects.get_or_create(code=row["code"], defaults={**row, "order": i})
    for i, row in enumerate(INDICATORS):
        Indicator.objects.get_or_create(code=row["code"], defaults={**row, "order": (i + 1) * 10})
