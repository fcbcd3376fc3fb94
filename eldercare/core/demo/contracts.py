"""Demo 医养签约 (DOMAIN.md §4): a handful of contracts between the demo county's homes and its
hospitals and health centres, in every derived status, with a year of visits for the monthly
ones — made through the contracts service, once (only when there are no contracts)."""

from __future__ import annotations

import datetime

from django.utils import timezone

from contracts import services
from contracts.models import Contract
from eldercare.accounts.scope import SYSTEM
from institutions.models import Institution

# (home, medical party, 协议编号, mode, services, frequency, start offset days, length days, terminated offset)
PLAN = [
    (
        "北郊镇敬老院",
        "北郊镇卫生院",
        "BJ-2026-001",
        "agreement",
        ["checkup", "education", "green_channel"],
        "monthly",
        -300,
        730,
        None,
    ),
    (
        "南郊镇敬老院",
        "南郊镇卫生院",
        "NJ-2026-001",
        "agreement",
        ["checkup", "referral"],
        "monthly",
        -340,
        360,
        None,
    ),
    (
        "萌水镇敬老院",
        "萌水镇卫生院",
        "MS-2025-001",
        "entrusted",
        ["checkup", "emergency", "tcm"],
        "weekly",
        -500,
        1095,
        None,
    ),
    (
        "南郊福寿园",
        "周村区中医医院",
        "ZY-2026-017",
        "agreement",
        ["checkup", "tcm"],
        "quarterly",
        -200,
        730,
        -20,
    ),
    (
        "城北路社区养老服务中心",
        "周村区人民医院",
        "RM-2027-003",
        "alliance",
        ["telemedicine", "training"],
        "",
        20,
        730,
        None,
    ),
    (
        "大街街道老年公寓",
        "周村区人民医院",
        "RM-2024-011",
        "agreement",
        ["checkup"],
        "half_yearly",
        -800,
        700,
        None,
    ),
]


def load() -> int:
    if Contract.objects.exists():
        return 0
    today = timezone.localdate()
    by_name = {i.name: i for i in Institution.objects.all()}
    made = 0
    for home, medical, no, mode, extra, freq, start, length, terminated in PLAN:
        if home not in by_name or medical not in by_name:
            continue
        begin = today + datetime.timedelta(days=start)
        services_list = (["visits"] if freq else []) + extra
        c = services.contract_create(
            actor=SYSTEM,
            facts={
                "agreement_no": no,
                "medical": by_name[medical],
                "eldercare": by_name[home],
                "mode": mode,
                "services": services_list,
                "visit_frequency": freq,
                "start": begin,
                "end": begin + datetime.timedelta(days=length),
            },
        )
        if terminated is not None:
            services.contract_terminate(
                actor=SYSTEM,
                contract=c,
                on=today + datetime.timedelta(days=terminated),
                reason="养老机构更换签约医疗机构",
            )
        if freq == "monthly":
            # a visit about every month — and one month missed, so the performance list has a case
            day = max(begin, today - datetime.timedelta(days=330))
            month = 0
            while day < today:
                if month != 9:
                    services.visit_record(actor=SYSTEM, contract=c, date=day, persons=15 + month % 7)
                day += datetime.timedelta(days=30)
                month += 1
        made += 1
    return made
