import datetime
import io

import pytest
from django.test import Client

from eldercare.accounts.scope import SYSTEM
from eldercare.audit.models import Action, AuditEvent
from institutions import services

pytestmark = pytest.mark.django_db


@pytest.fixture
def insts(regions):
    a = services.institution_create(
        actor=SYSTEM,
        family="eldercare",
        credit_code="91310110666007217T",
        facts={
            "name": "=丝绸路养老院",
            "type": "elder_home",
            "region": "370306001001",
            "beds_eldercare": 120,
            "opened_on": datetime.date(2019, 1, 1),
        },
    )
    b = services.institution_create(
        actor=SYSTEM,
        family="eldercare",
        facts={"name": "李家村幸福院", "type": "rural_happiness_home", "region": "370306100201"},
    )
    return a, b


def test_list_detail_scope_and_warnings(insts, make_user, login):
    a, b = insts
    t = login(Client(), make_user("t1", "township", "370306001000"))
    body = t.get("/institutions/").content.decode()
    assert "丝绸路养老院" in body and "李家村幸福院" not in body
    detail = t.get(f"/institutions/{a.pk}/").content.decode()
    assert "003_596fed3f93511451.txt" in detail  # ≥100 beds without a unit: cited warning
    assert t.get(f"/institutions/{b.pk}/").status_code == 404


def test_api_shape_and_scope(insts, make_user, login):
    a, b = insts
    c = login(Client(), make_user("h1", "health"))
    data = c.get("/api/v1/institutions/", {"family": "eldercare"}).json()
    assert data["count"] == 2
    row = next(r for r in data["results"] if r["id"] == a.pk)
    assert (
        row["region"] == "370306001001" and row["portal_no"] == a.portal_no and row["green_channel"] is None
    )
    assert row["warnings"][0]["code"] == "big_home_no_medical"
    t = login(Client(), make_user("t2", "township", "370306100000"))
    assert t.get(f"/api/v1/institutions/{a.pk}/").status_code == 404
    assert t.get("/api/v1/institutions/", {"credit_code": "91310110666007217T"}).json()["count"] == 0


def test_export_neutralised_and_audited(insts, make_user, login):
    from openpyxl import load_workbook

    c = login(Client(), make_user("c1", "civil"))
    resp = c.get("/api/v1/institutions/export/", {"format": "xlsx"})
    assert resp.status_code == 200
    ws = load_workbook(io.BytesIO(resp.content)).active
    names = [r[1] for r in ws.iter_rows(min_row=2, values_only=True)]
    assert "'=丝绸路养老院" in names
    csv_body = c.get("/institutions/", {"export": "csv"}).content.decode("utf-8-sig")
    assert "'=丝绸路养老院" in csv_body
    assert AuditEvent.objects.filter(action=Action.EXPORT, username="c1").count() == 2
    fin = login(Client(), make_user("f1", "finance"))
    assert fin.get("/institutions/", {"export": "csv"}).status_code == 403


def test_civil_creates_edits_and_closes_an_elder_care_institution_in_pages(regions, make_user, login):
    from institutions.models import Institution, versions_on

    civil = login(Client(), make_user("c1", "civil"))
    resp = civil.post(
        "/institutions/new/?family=eldercare",
        {
            "credit_code": "91310110666007217T",
            "name": "萌水颐养院",
            "type": "elder_home",
            "region": "370306100000",
            "ownership": "private",
            "opened_on": "2021-05-01",
            "beds_eldercare": "80",
            "beds_nursing": "40",
            "green_channel": "",
        },
    )
    assert resp.status_code == 302, resp.content.decode()[:2000]
    inst = Institution.objects.get(name="萌水颐养院")
    assert inst.family == "eldercare" and inst.green_channel is None
    form = civil.get(f"/institutions/{inst.pk}/edit/")
    assert form.status_code == 200
    data = {k: v for k, v in form.context["form"].initial.items() if v is not None}
    data.update({"beds_eldercare": "100", "effective": "2024-01-01", "region": "370306100000"})
    assert civil.post(f"/institutions/{inst.pk}/edit/", data).status_code == 302
    assert versions_on(datetime.date(2023, 6, 1)).get(institution=inst).beds_eldercare == 80
    assert versions_on(datetime.date(2024, 6, 1)).get(institution=inst).beds_eldercare == 100
    assert (
        civil.post(
            f"/institutions/{inst.pk}/status/", {"status": "closed", "effective": "2025-12-15"}
        ).status_code
        == 302
    )
    assert versions_on(datetime.date(2025, 12, 31)).get(institution=inst).status == "closed"
    # Health cannot maintain elder care; township cannot maintain either.
    health = login(Client(), make_user("h1", "health"))
    assert health.get(f"/institutions/{inst.pk}/edit/").status_code == 403
    assert health.get("/institutions/new/?family=eldercare").status_code == 403
    bad = civil.post(
        "/institutions/new/?family=eldercare",
        {"credit_code": "123", "name": "x", "type": "elder_home", "region": "370306100000"},
    )
    assert bad.status_code == 200 and "18位" in bad.content.decode()


def test_compliance_filter_and_home_count(insts, make_user, login):
    a, _b = insts
    c = login(Client(), make_user("c9", "civil"))
    assert [i.pk for i in c.get("/institutions/", {"warnings": "big_home_no_medical"}).context["page"]] == [
        a.pk
    ]
    assert [i.pk for i in c.get("/institutions/", {"warnings": "any"}).context["page"]] == [a.pk]
    cards = {str(x["label"]): x["value"] for x in c.get("/").context["cards"]}
    assert cards["存在合规提示的机构"] == 1
    # Fixing the cause clears the warning.
    services.institution_change(actor=SYSTEM, institution=a, changes={"internal_unit": "infirmary"})
    assert list(c.get("/institutions/", {"warnings": "any"}).context["page"]) == []


def _as_the_browser_submits(html: str) -> dict:
    """The form's fields as a browser would post them: inputs' rendered values (a date input
    whose value is not yyyy-mm-dd posts empty, as Chromium does), selected options, textareas."""
    import re
    from html.parser import HTMLParser

    class Fields(HTMLParser):
        def __init__(self):
            super().__init__()
            self.data, self.select, self.text = {}, None, None

        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            if tag == "input" and a.get("name") and a.get("type") not in ("submit", "button", "checkbox"):
                value = a.get("value") or ""
                if a.get("type") == "date" and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
                    value = ""
                self.data[a["name"]] = value
            elif tag == "input" and a.get("type") == "checkbox" and "checked" in a:
                self.data[a["name"]] = a.get("value", "on")
            elif tag == "select":
                self.select = a.get("name")
                self.data.setdefault(self.select, "")
            elif tag == "option" and self.select and "selected" in a:
                self.data[self.select] = a.get("value", "")
            elif tag == "textarea":
                self.text = a.get("name")
                self.data[self.text] = ""

        def handle_endtag(self, tag):
            if tag == "select":
                self.select = None
            if tag == "textarea":
                self.text = None

        def handle_data(self, data):
            if self.text:
                self.data[self.text] += data

    p = Fields()
    p.feed(html)
    return p.data


def test_an_edit_saved_as_rendered_keeps_the_dates_and_zero_counts(regions, make_user, login):
    """Regression: the zh-hans date format rendered 2016/06/01 into <input type="date">, which the
    browser shows (and posts) empty — saving any edit blanked 成立日期 in the history."""
    from institutions.models import Institution, versions_on
    from tests.factories import make_home

    inst = make_home(
        name="成立日期保留测试院", opened_on=datetime.date(2016, 6, 1), nurses=0, beds_nursing=10
    )
    civil = login(Client(), make_user("c2", "civil"))
    html = civil.get(f"/institutions/{inst.pk}/edit/").content.decode()
    assert 'value="2016-06-01"' in html
    data = _as_the_browser_submits(html)
    data.update({"beds_eldercare": "90", "effective": "2025-07-01"})
    resp = civil.post(f"/institutions/{inst.pk}/edit/", data)
    assert resp.status_code == 302, resp.content.decode()[:1500]
    inst = Institution.objects.get(pk=inst.pk)
    v = versions_on(datetime.date(2025, 8, 1)).get(institution=inst)
    assert (v.beds_eldercare, v.opened_on, v.nurses, v.beds_nursing) == (90, datetime.date(2016, 6, 1), 0, 10)
    assert sorted(v.changed) == ["beds_eldercare"]
