"""批量导入 pages: upload → check → preview → confirm → county acceptance, errors, scope, the
template and the annotated error sheet, constant query counts on the list."""

import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from eldercare.audit.models import Action, AuditEvent
from eldercare.sheets import engine
from eldercare.sheets.models import ImportBatch
from institutions.models import Institution
from tests.factories import csrf_client, page_token, post_form

pytestmark = pytest.mark.django_db
S = ImportBatch.Status

HEADER = "机构名称,统一社会信用代码,机构大类,机构类型,所属区划代码,核定养老床位数,护理型床位数,内设医疗机构,状态,状态日期,成立日期"
HOME = "银子敬老院,91310110666007217T,养老服务机构,敬老院,370306001001,120张,60,医务室,运营中,,2020-01-05"
BAD = "绣花社区幸福院,,养老服务机构,农村幸福院,370306001002,abc,,,运营中,,2021-03-01"


def sheet(*rows) -> bytes:
    lines = ["周村区养老机构基本情况统计表", "填报单位：丝绸路街道,,填报日期：2026年11月30日", HEADER, *rows]
    return ("\n".join(lines) + "\n").encode("gbk")


def post(client, page_url, url, data=None):
    return post_form(client, page_url, url, data)


def upload(client, data: bytes, name="机构.csv", as_of="2026-11-30", kind="institutions"):
    url = f"/imports/new/{kind}/"
    page = client.get(url)
    assert page.status_code == 200
    f = io.BytesIO(data)
    f.name = name
    return client.post(url, {"file": f, "as_of": as_of, "csrfmiddlewaretoken": page_token(page)})


def test_township_upload_preview_confirm_then_civil_accepts(township, civil):
    t = csrf_client(township)
    resp = upload(t, sheet(HOME))
    assert resp.status_code == 302, resp.content.decode()[:3000]
    batch = ImportBatch.objects.get()
    assert resp["Location"] == f"/imports/{batch.pk}/"
    assert batch.status == S.VALIDATED and batch.dry_run and batch.staged
    assert batch.as_of.isoformat() == "2026-11-30"
    detail = t.get(f"/imports/{batch.pk}/").content.decode()
    assert "新增" in detail and "银子敬老院" in detail and "确认导入" in detail
    assert "养老院" in detail  # 敬老院 read as the official type label
    assert not Institution.objects.exists()

    resp = post(t, f"/imports/{batch.pk}/", f"/imports/{batch.pk}/confirm/")
    assert resp.status_code == 302
    batch.refresh_from_db()
    assert batch.status == S.PENDING and not Institution.objects.exists()
    assert "等待县级" in t.get(f"/imports/{batch.pk}/").content.decode()
    # The uploader cannot accept their own upload.
    assert post(t, f"/imports/{batch.pk}/", f"/imports/{batch.pk}/accept/").status_code == 403

    c = csrf_client(civil)
    listing = c.get("/imports/")
    assert [b.pk for b in listing.context["pending"]] == [batch.pk]
    assert "待我审核" in listing.content.decode()
    review = c.get(f"/imports/{batch.pk}/").content.decode()
    assert "待审核：变更明细" in review and "接受" in review and "退回" in review
    resp = post(c, f"/imports/{batch.pk}/", f"/imports/{batch.pk}/accept/")
    assert resp.status_code == 302
    batch.refresh_from_db()
    assert batch.status == S.COMMITTED and batch.decided_by == civil
    inst = Institution.objects.get()
    assert (inst.name, inst.type, inst.beds_eldercare) == ("银子敬老院", "elder_home", 120)
    assert c.get("/imports/").context["pending"] == []
    # The home page counts what awaits the acceptor.
    cards = {str(card["label"]): card["value"] for card in c.get("/").context["cards"]}
    assert cards["待审核的乡镇上传"] == 0


def test_update_preview_shows_field_old_and_new(township, civil):
    engine.start_import(actor=civil, kind="institutions", data=sheet(HOME), filename="a.csv")
    t = csrf_client(township)
    upload(t, sheet(HOME.replace("120张", "150").replace("医务室", "护理站")))
    batch = ImportBatch.objects.filter(created_by=township).get()
    assert batch.updated == 1
    body = t.get(f"/imports/{batch.pk}/").content.decode()
    assert "更新" in body and "核定养老床位数" in body and "120" in body and "150" in body
    assert "医务室" in body and "护理站" in body


def test_reject_needs_a_comment_and_the_comment_is_shown(township, civil):
    batch = engine.start_import(actor=township, kind="institutions", data=sheet(HOME), filename="a.csv")
    assert batch.status == S.PENDING
    c = csrf_client(civil)
    resp = post(c, f"/imports/{batch.pk}/", f"/imports/{batch.pk}/reject/", {"comment": "  "})
    assert resp.status_code == 302
    batch.refresh_from_db()
    assert batch.status == S.PENDING
    assert "请" in c.get(f"/imports/{batch.pk}/").content.decode()  # the message is shown
    resp = post(
        c, f"/imports/{batch.pk}/", f"/imports/{batch.pk}/reject/", {"comment": "床位数与核定文件不符"}
    )
    batch.refresh_from_db()
    assert batch.status == S.REJECTED and batch.decision_comment == "床位数与核定文件不符"
    assert not Institution.objects.exists()
    page = csrf_client(township).get(f"/imports/{batch.pk}/").content.decode()
    assert "床位数与核定文件不符" in page


def test_other_township_gets_404_everywhere(township, make_user):
    batch = engine.start_import(
        actor=township, kind="institutions", data=sheet(HOME, BAD), filename="a.csv", dry_run=True
    )
    other = csrf_client(make_user("town2", "township", "370306100000"))
    pk = batch.pk
    for url in (f"/imports/{pk}/", f"/imports/{pk}/progress/", f"/imports/{pk}/annotated.xlsx"):
        assert other.get(url).status_code == 404, url
    assert pk not in [b.pk for b in other.get("/imports/").context["page"]]
    resp = post(other, "/imports/", f"/imports/{pk}/abandon/")
    assert resp.status_code == 404
    batch.refresh_from_db()
    assert batch.status == S.INVALID


def test_errors_table_and_annotated_sheet(township):
    from openpyxl import load_workbook

    t = csrf_client(township)
    upload(t, sheet(HOME, BAD))
    batch = ImportBatch.objects.get()
    assert batch.status == S.INVALID and batch.stored_name
    resp = t.get(f"/imports/{batch.pk}/")
    body = resp.content.decode()
    errors = resp.context["errors"]
    assert errors and errors[0]["row"] == 5 and errors[0]["column"] == "核定养老床位数"
    assert "核定养老床位数" in body and errors[0]["message"] in body
    assert resp.context["preview"] is None and "确认导入" not in body
    assert "下载标注错误的原表" in body

    sheet_resp = t.get(f"/imports/{batch.pk}/annotated.xlsx")
    assert sheet_resp.status_code == 200
    assert "filename*=UTF-8''" in sheet_resp["Content-Disposition"]
    ws = load_workbook(io.BytesIO(sheet_resp.content)).active
    lines = list(ws.iter_rows(values_only=True))
    assert lines[0][0] == "错误说明"
    # Original row N is line N + 1: the header is row 3, the bad row 5.
    assert lines[3][1] == "机构名称" and lines[5][1] == "绣花社区幸福院"
    assert lines[5][0].startswith("核定养老床位数：") and errors[0]["message"].rstrip("。") in lines[5][0]
    assert not lines[4][0]  # the good row has no message
    assert ws.cell(row=6, column=2).fill.fgColor.rgb.endswith("F8D7DA")
    assert AuditEvent.objects.filter(action=Action.EXPORT, username="town1", object_id=str(batch.pk)).exists()

    # Abandoning removes the file; the annotated sheet is gone with it.
    post(t, f"/imports/{batch.pk}/", f"/imports/{batch.pk}/abandon/")
    batch.refresh_from_db()
    assert batch.status == S.ABANDONED and not batch.stored_name
    assert t.get(f"/imports/{batch.pk}/annotated.xlsx").status_code == 404


def test_annotated_sheet_neutralises_formulas(township):
    from openpyxl import load_workbook

    bad = BAD.replace("绣花社区幸福院", "=HYPERLINK(1)")
    batch = engine.start_import(
        actor=township, kind="institutions", data=sheet(bad), filename="a.csv", dry_run=True
    )
    resp = csrf_client(township).get(f"/imports/{batch.pk}/annotated.xlsx")
    ws = load_workbook(io.BytesIO(resp.content)).active
    assert ws.cell(row=5, column=2).value == "'=HYPERLINK(1)"
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)


def test_template_has_canonical_headers_text_codes_and_dropdowns(civil):
    from openpyxl import load_workbook

    from institutions.importers import COLUMNS

    c = csrf_client(civil)
    resp = c.get("/imports/template/institutions.xlsx")
    assert resp.status_code == 200
    disposition = resp["Content-Disposition"]
    assert disposition.startswith("attachment;") and 'filename="institutions-template.xlsx"' in disposition
    assert "filename*=UTF-8''%E6%9C%BA%E6%9E%84%E5%AF%BC%E5%85%A5%E6%A8%A1%E6%9D%BF.xlsx" in disposition
    wb = load_workbook(io.BytesIO(resp.content))
    assert wb.sheetnames[0] == "机构" and "填写说明" in wb.sheetnames and "选项" in wb.sheetnames
    assert wb["选项"].sheet_state == "hidden" and wb["填写说明"].sheet_state == "visible"
    ws = wb.worksheets[0]
    headers = [cell.value for cell in ws[1]]
    assert headers == [col.canonical for col in COLUMNS]
    name = ws.cell(row=1, column=1)
    assert name.font.bold and name.font.color.rgb.endswith("C00000") and name.comment is not None
    assert ws.cell(row=2, column=1).value.startswith("示例")  # skipped if left in (test below)
    code = ws.cell(row=2, column=headers.index("统一社会信用代码") + 1)
    assert code.value == "91310110666007217T" and code.number_format == "@"
    region_letter = ws.cell(row=1, column=headers.index("所属区划代码") + 1).column_letter
    assert ws.column_dimensions[region_letter].number_format == "@"
    validations = {str(dv.sqref).split(":")[0]: dv for dv in ws.data_validations.dataValidation}
    assert len(validations) >= 6 + 9  # six enumerations and nine flags
    for header in ("机构大类", "机构类型", "举办性质", "等级", "状态", "内设医疗机构", "绿色通道"):
        letter = ws.cell(row=1, column=headers.index(header) + 1).column_letter
        dv = validations[f"{letter}2"]
        assert dv.type == "list" and dv.formula1.startswith("'选项'!"), header
        sheet_name, ref = dv.formula1.split("!")
        values = [c.value for row in wb["选项"][ref.replace("$", "")] for c in row]
        if header == "机构类型":
            assert "养老院" in values and "综合医院" in values and "农村幸福院" in values
        if header == "绿色通道":
            assert values == ["是", "否", "未填报"]
        if header == "等级":
            assert "二级甲等" in values and "未定级" in values
    # The template itself reads back through the engine's header finder.
    from eldercare.sheets.headers import find_header
    from eldercare.sheets.readers import read_rows

    match = find_header(read_rows(resp.content), COLUMNS)
    assert match.row == 1 and not match.missing_required and not match.unknown


def test_template_and_upload_refused_for_kinds_the_user_may_not_import(make_user, civil):
    admin = csrf_client(make_user("adm", "admin"))
    assert admin.get("/imports/template/institutions.xlsx").status_code == 403
    assert admin.get("/imports/new/institutions/").status_code == 403
    assert admin.get("/imports/new/regions/").status_code == 200
    cards = [card["spec"].name for card in admin.get("/imports/").context["cards"]]
    assert cards == ["regions"]
    c = csrf_client(civil)
    assert c.get("/imports/new/regions/").status_code == 403
    assert c.get("/imports/new/nonsense/").status_code == 404
    assert c.get("/imports/template/nonsense.xlsx").status_code == 404
    assert [card["spec"].name for card in c.get("/imports/").context["cards"]] == [
        "institutions",
        "contracts",
        "visits",
        "occupancy",
        "residents",
        "township_reports",
    ]
    finance = csrf_client(make_user("fin", "finance"))
    assert finance.get("/imports/").status_code == 403


def test_upload_page_explains_columns_and_checks_size(township, settings):
    t = csrf_client(township)
    page = t.get("/imports/new/institutions/").content.decode()
    assert 'accept=".xlsx,.xls,.ods,.csv"' in page
    assert "单位名称" in page and "清空" in page and "20 MB" in page
    assert "状态日期" in page and "县级" in page
    settings.PORTAL_UPLOAD_MAX_BYTES = 10
    resp = upload(t, sheet(HOME))
    assert resp.status_code == 200 and "拆分" in resp.content.decode()
    assert not ImportBatch.objects.exists()


def test_unknown_action_and_get_are_refused(township):
    batch = engine.start_import(
        actor=township, kind="institutions", data=sheet(HOME), filename="a.csv", dry_run=True
    )
    t = csrf_client(township)
    assert post(t, f"/imports/{batch.pk}/", f"/imports/{batch.pk}/delete/").status_code == 404
    assert t.get(f"/imports/{batch.pk}/confirm/").status_code == 405
    # Without the CSRF token the POST is refused.
    assert t.post(f"/imports/{batch.pk}/confirm/").status_code == 403
    batch.refresh_from_db()
    assert batch.status == S.VALIDATED


def test_progress_json(township):
    batch = engine.start_import(
        actor=township, kind="institutions", data=sheet(HOME), filename="a.csv", dry_run=True
    )
    t = csrf_client(township)
    assert t.get(f"/imports/{batch.pk}/progress/").json() == {
        "status": "validated",
        "progress": 100,
        "done": True,
    }
    ImportBatch.objects.filter(pk=batch.pk).update(status=S.VALIDATING, progress=40)
    assert t.get(f"/imports/{batch.pk}/progress/").json()["done"] is False
    page = t.get(f"/imports/{batch.pk}/").content.decode()
    assert "import-progress.js" in page and 'data-import-progress="/imports/' in page


def test_revert_needs_the_confirm_box(civil):
    batch = engine.start_import(actor=civil, kind="institutions", data=sheet(HOME), filename="a.csv")
    assert batch.status == S.COMMITTED
    c = csrf_client(civil)
    assert "撤销本批导入" in c.get(f"/imports/{batch.pk}/").content.decode()
    post(c, f"/imports/{batch.pk}/", f"/imports/{batch.pk}/revert/")
    batch.refresh_from_db()
    assert batch.status == S.COMMITTED and Institution.objects.count() == 1
    post(c, f"/imports/{batch.pk}/", f"/imports/{batch.pk}/revert/", {"confirm": "yes"})
    batch.refresh_from_db()
    assert batch.status == S.REVERTED and not Institution.objects.exists()


@pytest.mark.usefixtures("no_versioned_cache")
def test_list_filters_and_queries_do_not_grow(township, civil, make_user):
    def add(n):
        for i in range(n):
            engine.start_import(
                actor=township, kind="institutions", data=sheet(HOME), filename=f"{i}.csv", dry_run=i % 2 == 0
            )

    c = csrf_client(civil)
    add(2)

    def count(url):
        with CaptureQueriesContext(connection) as ctx:
            assert c.get(url).status_code == 200
        return len(ctx.captured_queries)

    count("/imports/")  # warm-up
    few = count("/imports/")
    add(20)
    assert count("/imports/") == few
    pending = c.get("/imports/?status=pending")
    assert {b.status for b in pending.context["page"]} == {S.PENDING}
    assert c.get("/imports/?kind=regions").context["page"].paginator.count == 0
    assert c.get("/imports/?status=bogus&kind=bogus").context["page"].paginator.count == 22


def test_overlong_reject_comment_is_refused_with_the_reason(township, civil):
    batch = engine.start_import(actor=township, kind="institutions", data=sheet(HOME), filename="a.csv")
    c = csrf_client(civil)
    post(c, f"/imports/{batch.pk}/", f"/imports/{batch.pk}/reject/", {"comment": "长" * 2001})
    batch.refresh_from_db()
    assert batch.status == S.PENDING
    assert "2000" in c.get(f"/imports/{batch.pk}/").content.decode()


def test_template_example_row_left_in_is_not_imported(civil):
    from eldercare.sheets import engine

    c = csrf_client(civil)
    data = c.get("/imports/template/institutions.xlsx").content
    batch = engine.start_import(actor=civil, kind="institutions", data=data, filename="t.xlsx", dry_run=True)
    assert batch.rows_total == 0 and batch.skipped == 1 and batch.error_count == 0
    assert any("示例" in w["message"] for w in batch.get_report()["warnings"])


def test_a_file_matching_the_registry_offers_nothing_to_confirm(township, civil):
    engine.start_import(actor=civil, kind="institutions", data=sheet(HOME), filename="a.csv")
    t = csrf_client(township)
    upload(t, sheet(HOME))
    batch = ImportBatch.objects.filter(created_by=township).get()
    assert batch.status == S.VALIDATED and batch.unchanged == 1
    page = t.get(f"/imports/{batch.pk}/").content.decode()
    assert "没有需要导入的变更" in page and 'data-testid="confirm"' not in page


def test_township_withdraws_a_pending_upload(township, civil):
    t = csrf_client(township)
    upload(t, sheet(HOME))
    batch = ImportBatch.objects.get()
    post(t, f"/imports/{batch.pk}/", f"/imports/{batch.pk}/confirm/")
    batch.refresh_from_db()
    assert batch.status == S.PENDING
    assert "撤回" in t.get(f"/imports/{batch.pk}/").content.decode()
    assert post(t, f"/imports/{batch.pk}/", f"/imports/{batch.pk}/abandon/").status_code == 302
    batch.refresh_from_db()
    assert batch.status == S.ABANDONED
    # Nothing left for the county to accept; the acceptance page sits after the details.
    assert csrf_client(civil).get("/imports/").context["pending"] == []
    assert "上传更正后的文件" in t.get(f"/imports/{batch.pk}/").content.decode()
