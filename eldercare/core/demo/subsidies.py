"""Demo bed subsidies (DOMAIN.md §6): a year and more of monthly occupancy for the demo county's
homes, a budget, and applications in every state — made through the services as the demo users,
once (only when there are no applications): an approved rented-premises construction subsidy
with its five installments (the first paid by finance), an operation subsidy submitted, one
accepted awaiting the decision, a rejected construction request from a home not run by a medical
institution, and a draft that is incomplete (a month not reported)."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.utils import timezone

from eldercare.accounts.models import User
from eldercare.accounts.scope import SYSTEM
from eldercare.workflow import services as wf
from institutions.models import Institution
from subsidies import occupancy, payments, services
from subsidies.models import Application, FundingSource


def _months(first: datetime.date, last: datetime.date):
    day = first.replace(day=1)
    while day <= last:
        yield day
        day = (day + datetime.timedelta(days=32)).replace(day=1)


def load() -> int:
    if Application.objects.exists():
        return 0
    users = {
        u.username: u
        for u in User.objects.filter(username__in=["township01", "township02", "civil01", "finance01"])
    }
    if len(users) < 4:
        return 0
    homes = {
        i.name: i
        for i in Institution.objects.filter(
            name__in=[
                "周村区人民医院医养结合中心",
                "丝绸路颐养院",
                "北郊镇敬老院",
                "南郊镇敬老院",
                "萌水颐和养老院",
            ]
        )
    }
    if len(homes) < 5:
        return 0
    today = timezone.localdate()
    last_month = today.replace(day=1) - datetime.timedelta(days=1)
    for n, home in enumerate(homes.values()):
        beds = home.beds_eldercare or 0
        for k, month in enumerate(_months(datetime.date(today.year - 1, 1, 1), last_month)):
            if home.name == "南郊镇敬老院" and month == datetime.date(today.year - 1, 7, 1):
                continue  # a month not reported: its operation subsidy is incomplete
            occupied = int(beds * (0.55 + 0.01 * ((k + n) % 10)))
            disabled = occupied * (4 + n) // 10
            occupancy.occupancy_record(SYSTEM, home, month, occupied - disabled, disabled)
    civil, finance = users["civil01"], users["finance01"]
    t1, t2 = users["township01"], users["township02"]
    county = "370306000000"
    for source, amount in ((FundingSource.HIGHER, "800000.00"), (FundingSource.COUNTY, "1200000.00")):
        payments.budget_set(
            actor=SYSTEM, region=county, year=today.year, funding_source=source, amount=Decimal(amount)
        )

    # Rented premises, approved: five installments from this year, the first paid.
    app = services.application_create(
        actor=t1,
        institution=homes["周村区人民医院医养结合中心"],
        rule="construction_new_rented",
        lease_start=datetime.date(today.year - 1, 7, 1),
        lease_end=datetime.date(today.year + 9, 6, 30),
    )
    wf.filing_transition(actor=t1, filing=app.filing, action="submit")
    wf.filing_transition(actor=civil, filing=app.filing, action="accept")
    wf.filing_transition(actor=civil, filing=app.filing, action="approve", comment="租期十年，符合条件。")
    first = app.installments.order_by("due_year").first()
    if first is not None:
        payments.payment_record(
            actor=finance,
            installment=first,
            paid_on=today,
            amount=first.amount,
            voucher_no=f"ZC{today:%Y%m%d}001",
            payee_account="6217000000000000001",
            funding_source=FundingSource.HIGHER,
        )
    # Operation subsidy for last year: submitted, and another accepted awaiting the decision.
    app = services.application_create(
        actor=t1, institution=homes["丝绸路颐养院"], rule="operation", year=today.year - 1
    )
    wf.filing_transition(actor=t1, filing=app.filing, action="submit")
    app = services.application_create(
        actor=t2, institution=homes["北郊镇敬老院"], rule="operation", year=today.year - 1
    )
    wf.filing_transition(actor=t2, filing=app.filing, action="submit")
    wf.filing_transition(actor=civil, filing=app.filing, action="accept")
    # A construction request from a home no medical institution runs: rejected with the reason.
    app = services.application_create(
        actor=t2, institution=homes["北郊镇敬老院"], rule="construction_conversion", beds=20
    )
    wf.filing_transition(actor=t2, filing=app.filing, action="submit")
    wf.filing_transition(actor=civil, filing=app.filing, action="accept")
    wf.filing_transition(
        actor=civil, filing=app.filing, action="reject", comment="建设补助限于医疗机构举办的养老机构。"
    )
    # A draft whose data are incomplete (July of last year not reported).
    services.application_create(
        actor=civil, institution=homes["南郊镇敬老院"], rule="operation", year=today.year - 1
    )
    return Application.objects.count()
