"""The four filing types of DOMAIN.md §5 with the seeds' values as defaults (admin-editable).
The `basis` users read cites the documents by 文号 (周政办字〔2017〕109号 is
000_a6a1084fb0cf220e.txt, 东政办〔2022〕42号 is 002_143d69c61604bf96.txt).
医养签约协议备案 ships inactive: the contracts app wires it up (its approval marks the contract
已备案)."""

from django.db import migrations

TYPES = [
    {
        "code": "internal_medical",
        "name": "养老机构内设医疗机构备案",
        "prefix": "医备",
        "decider_role": "health",
        "subject_family": "eldercare",
        "effect": "internal_unit",
        "config": {"accept_days": 5, "decide_days": 10},
        "attachments": [
            {"code": "application", "label": "备案申请表", "required": True},
            {"code": "staff", "label": "医护人员执业资格证明", "required": True},
            {"code": "floorplan", "label": "医疗用房平面布局图", "required": False},
        ],
        "basis": "周政办字〔2017〕109号三(二)：区卫计局在受理设置申请后 10 个工作日内给予批复；"
        "国卫办老龄发〔2019〕17号：养老机构内设诊所、卫生所（室）、医务室、护理站实行备案管理。",
        "active": True,
    },
    {
        "code": "medical_runs_eldercare",
        "name": "医疗卫生机构设立养老机构／公立医疗机构增设养老服务职能备案",
        "prefix": "医养备",
        "decider_role": "civil",
        "subject_family": "medical",
        "effect": "run_by_medical",
        "config": {"accept_days": 5, "decide_days": 10},
        "attachments": [
            {"code": "application", "label": "备案书", "required": True},
            {"code": "licence", "label": "医疗机构执业许可证", "required": True},
            {"code": "premises", "label": "服务场所产权或租赁证明", "required": True},
            {"code": "fire", "label": "消防安全证明材料", "required": False},
        ],
        "basis": "东政办〔2022〕42号二(四)：县行政服务中心“一个窗口”办理；"
        "公立医疗机构增设养老服务职能，应当依法向县民政部门备案。",
        "active": True,
    },
    {
        "code": "eldercare",
        "name": "养老机构备案",
        "prefix": "养备",
        "decider_role": "civil",
        "subject_family": "",
        "effect": "eldercare_filed",
        "config": {"accept_days": 5, "decide_days": 10},
        "attachments": [
            {"code": "application", "label": "养老机构备案书", "required": True},
            {"code": "registration", "label": "法人登记证书（农村幸福院等未登记法人的可不提交）", "required": False},
            {"code": "commitment", "label": "养老机构备案承诺书", "required": True},
            {"code": "fire", "label": "消防安全证明材料", "required": False},
        ],
        "basis": "周政办字〔2017〕109号：自受理设立申请后 10 个工作日内办结；"
        "2018 年修订的《老年人权益保障法》取消养老机构设立许可，改为备案。",
        "active": True,
    },
    {
        "code": "contract",
        "name": "医养签约协议备案",
        "prefix": "签备",
        "decider_role": "civil",
        "subject_family": "",
        "effect": "subject",
        "config": {"accept_days": 5, "decide_days": 10},
        "attachments": [{"code": "agreement", "label": "医养签约服务协议", "required": True}],
        "basis": "东政办〔2022〕42号一(四)：医养签约。",
        "active": False,
    },
]


def forwards(apps, schema_editor):
    FilingType = apps.get_model("workflow", "FilingType")
    for t in TYPES:
        FilingType.objects.update_or_create(code=t["code"], defaults={k: v for k, v in t.items() if k != "code"})


def backwards(apps, schema_editor):
    apps.get_model("workflow", "FilingType").objects.filter(code__in=[t["code"] for t in TYPES]).delete()


class Migration(migrations.Migration):
    dependencies = [("workflow", "0002_filings")]
    operations = [migrations.RunPython(forwards, backwards)]
