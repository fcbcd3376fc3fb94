"""Policy as data (issue 6): the admin adds another county's policy on the admin site without
code; an application there is judged by it; writes are audited; bad parameters are refused."""

import datetime

import pytest

from eldercare.audit.models import AuditEvent
from subsidies import services
from subsidies.models import PolicyDocument, PolicyRule
from tests.factories import current_code, login, totp_device

pytestmark = pytest.mark.django_db
D = datetime.date


@pytest.fixture
def admin_client(client, make_user):
    user = make_user("adm", "admin", "370000000000")
    device = totp_device(user)
    login(client, user)
    if client.get("/system/").status_code == 302:
        client.post("/accounts/2fa/", {"token": current_code(device)})
    return client


def test_another_countys_policy_is_data(admin_client, regions):
    url = "/system/subsidies/policydocument/add/"
    page = admin_client.get(url)
    assert page.status_code == 200, page.status_code
    data = {
        "doc_no": "周政办发〔2026〕3号",
        "title": "周村区养老床位补助办法",
        "issuer": "周村区人民政府办公室",
        "region": "370306000000",
        "issued_on": "2026-01-10",
        "valid_from": "2026-01-10",
        "valid_to": "",
        "source": "",
        "rules-TOTAL_FORMS": "1",
        "rules-INITIAL_FORMS": "0",
        "rules-MIN_NUM_FORMS": "0",
        "rules-MAX_NUM_FORMS": "1000",
        "rules-0-kind": "construction_conversion",
        "rules-0-clause": "第五条",
        "rules-0-clause_text": "利用闲置设施改建养老机构的，每张床位补助3000元。",
        "rules-0-params": '{"amount_per_bed": "3000.00", "requires_run_by_medical": true}',
    }
    bad = admin_client.post(url, {**data, "rules-0-params": '{"requires_run_by_medical": true}'})
    assert bad.status_code == 200 and "缺少：amount_per_bed" in bad.content.decode()
    resp = admin_client.post(url, data)
    assert resp.status_code == 302, resp.content.decode()[:2000]
    doc = PolicyDocument.objects.get(doc_no="周政办发〔2026〕3号")
    rule = PolicyRule.objects.get(document=doc)
    assert AuditEvent.objects.filter(object_type="subsidies.policyrule", object_id=str(rule.pk)).exists()
    found = services.rule_in_force("370306100000", "construction_conversion", D(2026, 3, 1))
    assert (found.doc_no, str(found.money("amount_per_bed"))) == ("周政办发〔2026〕3号", "3000.00")
    # The county is judged by its own document alone: no operation rule there means no
    # operation subsidy (not 东山县's); other counties, and earlier dates, keep the default.
    assert services.rule_in_force("370306100000", "operation", D(2026, 3, 1)) is None
    default = "东政办〔2022〕42号"
    assert services.rule_in_force("370307001000", "construction_conversion", D(2026, 3, 1)).doc_no == default
    assert services.rule_in_force("370306100000", "construction_conversion", D(2026, 1, 9)).doc_no == default
