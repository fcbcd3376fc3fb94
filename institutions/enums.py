"""Enumerations of the registry (CONTRACT.md): API code -> Chinese label as in sheets and pages.

Labels are the official Chinese terms users type in spreadsheets, so they are data, not
translatable UI strings."""

from django.db import models


class Family(models.TextChoices):
    MEDICAL = "medical", "医疗卫生机构"
    ELDERCARE = "eldercare", "养老服务机构"


class MedicalType(models.TextChoices):
    GENERAL_HOSPITAL = "general_hospital", "综合医院"
    TCM_HOSPITAL = "tcm_hospital", "中医医院"
    SPECIALTY_HOSPITAL = "specialty_hospital", "专科医院"
    REHAB_HOSPITAL = "rehab_hospital", "康复医院"
    NURSING_HOME_MEDICAL = "nursing_home_medical", "护理院"
    HOSPICE = "hospice", "安宁疗护中心"
    CHC = "chc", "社区卫生服务中心"
    CHS = "chs", "社区卫生服务站"
    TOWNSHIP_HC = "township_hc", "乡镇卫生院"
    VILLAGE_CLINIC = "village_clinic", "村卫生室"
    OUTPATIENT_DEPT = "outpatient_dept", "门诊部"
    CLINIC = "clinic", "诊所"
    PUBLIC_HEALTH = "public_health", "专业公共卫生机构"


class EldercareType(models.TextChoices):
    ELDER_HOME = "elder_home", "养老院"
    CARE_HOME = "care_home", "老年养护院"
    COMMUNITY_CENTER = "community_center", "社区养老服务中心"
    DAY_CARE = "day_care", "日间照料中心"
    RURAL_HAPPINESS_HOME = "rural_happiness_home", "农村幸福院"


INSTITUTION_TYPES = [*MedicalType.choices, *EldercareType.choices]
TYPE_FAMILY = {
    **{c: Family.MEDICAL for c in MedicalType.values},
    **{c: Family.ELDERCARE for c in EldercareType.values},
}
TYPE_SYNONYMS = {"敬老院": "elder_home", "福利院": "elder_home", "特困供养服务机构": "elder_home"}
# Types that often have no 统一社会信用代码 and are keyed by (village, name) instead.
CODELESS_TYPES = frozenset({MedicalType.VILLAGE_CLINIC, EldercareType.RURAL_HAPPINESS_HOME})
# "Residential" elder care: all but day care and rural happiness homes (DOMAIN.md §3).
NON_RESIDENTIAL = frozenset({EldercareType.DAY_CARE, EldercareType.RURAL_HAPPINESS_HOME})
PRIMARY_CARE_TYPES = frozenset(
    {
        MedicalType.CHC,
        MedicalType.CHS,
        MedicalType.TOWNSHIP_HC,
        MedicalType.VILLAGE_CLINIC,
        MedicalType.OUTPATIENT_DEPT,
        MedicalType.CLINIC,
    }
)


class Ownership(models.TextChoices):
    """Medical: 公立 public / 社会办 private. Elder care: 公办公营 public / 公建民营
    public_private / 民办 private. One code set, the label depends on the family."""

    PUBLIC = "public", "公立/公办公营"
    PUBLIC_PRIVATE = "public_private", "公建民营"
    PRIVATE = "private", "社会办/民办"


OWNERSHIP_LABELS = {
    Family.MEDICAL: {"public": "公立", "private": "社会办"},
    Family.ELDERCARE: {"public": "公办公营", "public_private": "公建民营", "private": "民办"},
}


class Grade(models.TextChoices):
    ONE = "1", "一级"
    TWO = "2", "二级"
    THREE = "3", "三级"
    NONE = "none", "未定级"


class GradeClass(models.TextChoices):
    A = "A", "甲等"
    B = "B", "乙等"
    C = "C", "丙等"


class Status(models.TextChoices):
    PLANNED = "planned", "筹建中"
    OPERATING = "operating", "运营中"
    SUSPENDED = "suspended", "停业"
    CLOSED = "closed", "注销"


class InternalUnit(models.TextChoices):
    NONE = "none", "无"
    INFIRMARY = "infirmary", "医务室"
    NURSING_STATION = "nursing_station", "护理站"
    CLINIC = "clinic", "诊所"
    OUTPATIENT_DEPT = "outpatient_dept", "门诊部"
    NURSING_HOME_MEDICAL = "nursing_home_medical", "护理院"
    REHAB_HOSPITAL = "rehab_hospital", "康复医院"
    OTHER = "other", "其他"


# Tri-state service flags: (field, Chinese label as the sheet column).
FLAGS = [
    ("green_channel", "绿色通道"),
    ("family_bed", "家庭病床"),
    ("geriatric_dept", "老年病科"),
    ("rehab_dept", "康复科"),
    ("hospice", "安宁疗护"),
    ("tcm", "中医药服务"),
    ("telemedicine", "远程医疗"),
    ("medical_insurance", "医保定点"),
    ("ltc_insurance", "长护险定点"),
]
