"""Duplicate-claim review list (DOMAIN.md §6, issue 6 "the duplicate checks catch planted
duplicates"): the probable cases are listed, scoped; the certain ones are blocked elsewhere
(tests/functional/test_subsidy_api.py, tests/integration/test_occupancy_residents.py)."""

import datetime

import pytest

from eldercare.accounts.scope import SYSTEM
from institutions import services as registry
from subsidies import idcard
from subsidies.checks import probable_duplicates
from subsidies.models import OccupancyReport, Resident
from subsidies.services import application_create
from tests.factories import at, make_home, make_hospital

pytestmark = pytest.mark.django_db
D = datetime.date


BORN, JAN_2025 = D(1940, 3, 1), D(2025, 1, 1)


def resident(home, number, name="张桂兰", birth=BORN, admitted=JAN_2025, discharged=None):
    return Resident.objects.create(
        institution=home,
        name=name,
        id_cipher=idcard.encrypt(number),
        id_hash=idcard.lookup_hash(number),
        id_masked=idcard.mask(number),
        birth_date=birth,
        ability_level=2,
        admitted_on=admitted,
        discharged_on=discharged,
    )


def first17_with_check(first17: str) -> str:
    return first17 + idcard.check_char(first17)


def test_planted_duplicates_are_listed(regions, civil, make_user, monkeypatch, settings, tmp_path):
    settings.PORTAL_UPLOAD_ROOT = str(tmp_path)
    hospital = make_hospital(opened_on=D(2010, 1, 1))
    a = make_home(name="甲养老院", run_by=hospital.pk, beds_eldercare=60, opened_on=D(2015, 1, 1))
    b = make_home(
        name="乙养老院", credit_code="52370306MJD600080P", beds_eldercare=40, opened_on=D(2015, 1, 1)
    )
    # the same person under two ID numbers (one digit mistyped), in two homes at once
    resident(a, first17_with_check("37030619400301002"))
    resident(b, first17_with_check("37030619400301012"), admitted=D(2025, 6, 1))
    # a namesake whose stays do not overlap: not listed
    resident(
        a,
        first17_with_check("37030619400301102"),
        name="李秀英",
        admitted=D(2024, 1, 1),
        discharged=D(2024, 6, 1),
    )
    resident(b, first17_with_check("37030619400301112"), name="李秀英", admitted=D(2024, 6, 1))
    at(monkeypatch, D(2026, 3, 2))
    for _ in range(2):  # two construction applications of 40 beds for a 60-bed home, both submitted
        application_create(
            actor=civil,
            institution=a,
            rule="construction_conversion",
            beds=40,
            application_date=D(2026, 3, 1),
        )
    for _ in range(2):  # two operation applications for 2025, both submitted
        application_create(
            actor=civil, institution=b, rule="operation", year=2025, application_date=D(2026, 3, 1)
        )
    OccupancyReport.objects.create(institution=b, month=D(2025, 12, 1), self_care=30, disabled=8)
    registry.institution_change(
        actor=SYSTEM, institution=b, changes={"beds_eldercare": 30}
    )  # beds reduced later
    found = {item["code"]: item for item in probable_duplicates(actor=civil)}
    assert set(found) == {
        "same_person_other_id",
        "open_applications_beyond_beds",
        "operation_twice_in_progress",
        "occupancy_above_beds_now",
    }
    assert "张桂兰" in found["same_person_other_id"]["message"] and "李秀英" not in str(found)
    assert "共 80 张" in found["open_applications_beyond_beds"]["message"]
    assert "2025 年有 2 份运营补助申请" in found["operation_twice_in_progress"]["message"]
    assert "入住 38 张，超过现登记的核定床位 30 张" in found["occupancy_above_beds_now"]["message"]
    # masked numbers only, never the full ID
    assert "37030619400301002" not in str(found)
    other = make_user("silk", "township", "370306001000")
    assert probable_duplicates(actor=other) == []
