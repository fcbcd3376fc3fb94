"""The services checklist of 《医疗卫生机构与养老服务机构签约合作服务指南（试行）》 (DOMAIN.md §4) and
the 医养签约协议备案 filing type opened now that contracts exist (ADR 0010: its approval marks
the contract 已备案 through the contracts app's subject hook)."""

from django.db import migrations

SERVICES = [
    ("visits", "上门巡诊"),
    ("checkup", "健康体检"),
    ("education", "健康教育"),
    ("green_channel", "绿色通道"),
    ("referral", "双向转诊"),
    ("emergency", "急诊急救"),
    ("telemedicine", "远程医疗"),
    ("tcm", "中医药服务"),
    ("family_bed", "家庭病床"),
    ("training", "人员培训"),
    ("hospice", "安宁疗护"),
]


def forwards(apps, schema_editor):
    ServiceItem = apps.get_model("contracts", "ServiceItem")
    for order, (code, name) in enumerate(SERVICES, 1):
        ServiceItem.objects.update_or_create(code=code, defaults={"name": name, "order": order})
    FilingType = apps.get_model("workflow", "FilingType")
    FilingType.objects.filter(code="contract").update(active=True, subject_family="")


def backwards(apps, schema_editor):
    apps.get_model("workflow", "FilingType").objects.filter(code="contract").update(active=False)


class Migration(migrations.Migration):
    dependencies = [("contracts", "0001_initial"), ("workflow", "0003_filing_types")]
    operations = [migrations.RunPython(forwards, backwards)]
