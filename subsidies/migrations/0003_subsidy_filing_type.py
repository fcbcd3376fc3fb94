"""Subsidy applications go through the workflow engine (ADR 0010): a filing type whose subject is
the application — township submits, civil affairs accepts and decides (DOMAIN.md §1, §6)."""

from django.db import migrations


def forwards(apps, schema_editor):
    apps.get_model("workflow", "FilingType").objects.update_or_create(
        code="subsidy",
        defaults={
            "name": "养老床位补贴申请",
            "prefix": "补",
            "decider_role": "civil",
            "subject_family": "",
            "effect": "subject",
            "config": {"accept_days": 5, "decide_days": 10},
            "attachments": [
                {"code": "application", "label": "补贴申请表", "required": False},
                {"code": "evidence", "label": "证明材料（租赁合同、承诺书等）", "required": False},
            ],
            "basis": "东政办〔2022〕42号 三(一)：确保财政资金补助到位。",
            "active": True,
        },
    )


def backwards(apps, schema_editor):
    apps.get_model("workflow", "FilingType").objects.filter(code="subsidy").delete()


class Migration(migrations.Migration):
    dependencies = [("subsidies", "0002_dongshan_policy"), ("workflow", "0003_filing_types")]
    operations = [migrations.RunPython(forwards, backwards)]
