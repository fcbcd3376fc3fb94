"""The shipped default policy: 东山县人民政府办公室 东政办〔2022〕42号 (002_143d69c61604bf96.txt) §三(一),
issued 2022-07-26, valid 5 years (through 2027-07-25 inclusive), with DOMAIN.md §6's
interpretation: the 50% occupancy and 5-year commitment belong to the self-built branch, the
lease condition to the rented one; the construction rules apply to an elder-care institution run
by a medical institution; the operation subsidy to any elder-care institution. Blank region:
the default for every region without a policy of its own."""

import datetime

from django.db import migrations

CLAUSE = (
    "医疗机构利用现有闲置设施改建养老机构,每张养老床位一次性补助2000元;利用自有资本或与其它社会资本合作新建养老机构且"
    "核定床位50张以上,用房属自建并承诺运营期限不低于5年的,床位使用率50%以上的，每张养老床位一次性补助10000元；"
    "用房属租用且租用年限在5年以上的，每张养老床位一次性补助5000元，补助款项分5年拨付。收住自理和失能老人，分别依据"
    "年平均实际入住床位数，每年按2000元/床、2400元/床标准给予运营补助。上述所需资金除争取上级补助外，其余由县财政统筹保障。"
)

RULES = [
    (
        "construction_conversion",
        "三(一) 改建",
        "医疗机构利用现有闲置设施改建养老机构,每张养老床位一次性补助2000元",
        {"amount_per_bed": "2000.00", "requires_run_by_medical": True},
    ),
    (
        "construction_new_owned",
        "三(一) 新建·自建",
        "新建养老机构且核定床位50张以上,用房属自建并承诺运营期限不低于5年的,床位使用率50%以上的，每张养老床位一次性补助10000元",
        {
            "amount_per_bed": "10000.00",
            "min_beds": 50,
            "min_commit_years": 5,
            "min_occupancy": "0.5",
            "occupancy_window_months": 3,
            "requires_run_by_medical": True,
        },
    ),
    (
        "construction_new_rented",
        "三(一) 新建·租用",
        "新建养老机构且核定床位50张以上,用房属租用且租用年限在5年以上的，每张养老床位一次性补助5000元，补助款项分5年拨付",
        {"amount_per_bed": "5000.00", "min_beds": 50, "min_lease_years": 5, "installments": 5, "requires_run_by_medical": True},
    ),
    (
        "operation",
        "三(一) 运营补助",
        "收住自理和失能老人，分别依据年平均实际入住床位数，每年按2000元/床、2400元/床标准给予运营补助",
        {"self_care_per_bed_year": "2000.00", "disabled_per_bed_year": "2400.00"},
    ),
]


def forwards(apps, schema_editor):
    Document = apps.get_model("subsidies", "PolicyDocument")
    Rule = apps.get_model("subsidies", "PolicyRule")
    doc, _ = Document.objects.update_or_create(
        doc_no="东政办〔2022〕42号",
        defaults={
            "title": "东山县人民政府办公室关于加快推进医养结合发展的实施意见（三(一) 确保财政资金补助到位）",
            "issuer": "东山县人民政府办公室",
            "region": None,
            "issued_on": datetime.date(2022, 7, 26),
            "valid_from": datetime.date(2022, 7, 26),
            "valid_to": datetime.date(2027, 7, 25),
            "source": "002_143d69c61604bf96.txt",
        },
    )
    for kind, clause, text, params in RULES:
        Rule.objects.update_or_create(
            document=doc, kind=kind, defaults={"clause": clause, "clause_text": text, "params": params}
        )


def backwards(apps, schema_editor):
    apps.get_model("subsidies", "PolicyDocument").objects.filter(doc_no="东政办〔2022〕42号").delete()


class Migration(migrations.Migration):
    dependencies = [("subsidies", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
