"""批量导入 through the real pages in Chromium: a township clerk downloads the template, uploads
it as filled in LibreOffice Calc (tests/fixtures/sheets/institutions_libreoffice.xlsx, made by
tests/fixtures/fill_template_libreoffice.py), checks the preview and confirms; a county civil
affairs officer accepts it under 待我审核 and the institutions are in the registry. A file with
mistakes shows them by row and column and offers the sheet with the errors marked."""

import datetime
from pathlib import Path

import openpyxl
import pytest
from django.utils import timezone

from eldercare.sheets.models import ImportBatch
from institutions import importers
from institutions.models import Institution
from tests.browser.test_roles import sign_in
from tests.factories import make_tree, make_user, totp_device

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHEETS = Path(__file__).parent.parent / "fixtures" / "sheets"
FIXTURE = SHEETS / "institutions_libreoffice.xlsx"
NAMES = ["丝绸路街道颐康养老院", "丝绸路街道绣花日间照料中心", "丝绸路街道东片农村幸福院"]


def _user(username, role, region):
    user = make_user(username, role, region)
    if user.otp_required:
        totp_device(user)
    return user


def _sign_out(page, base):
    page.click("[data-testid=user-menu]")
    with page.expect_navigation():
        page.click("[data-testid=logout]")
    page.goto(base + "/")
    assert "/accounts/login/" in page.url


def _upload(page, base, path: Path):
    as_of = (timezone.localdate() - datetime.timedelta(days=1)).isoformat()
    page.goto(base + "/imports/")
    with page.expect_navigation():
        page.click("[data-testid=import-kinds] a[href$='/imports/new/institutions/']")
    page.set_input_files("#id_file", str(path))
    page.fill("#id_as_of", as_of)
    with page.expect_navigation():
        page.click("[data-testid=upload-form] button[type=submit]")
    assert "/imports/" in page.url and page.url.rstrip("/").split("/")[-1].isdigit(), page.url
    assert as_of in page.inner_text("main")
    return int(page.url.rstrip("/").split("/")[-1])


def test_township_upload_from_libreoffice_is_accepted_by_the_county(
    browser, live_server, artifacts, tmp_path
):
    make_tree()
    _user("township05", "township", "370306001000")
    _user("civil05", "civil", "370306000000")
    base = live_server.url
    context = browser.new_context(
        viewport={"width": 1366, "height": 768}, locale="zh-CN", accept_downloads=True
    )
    page = context.new_page()
    sign_in(page, base, "township05")

    # The template, through the page's link.
    page.goto(base + "/imports/")
    assert "您上传的数据须经县级主管部门审核接受后生效" in page.inner_text("[data-testid=import-kinds]")
    with page.expect_download() as info:
        page.click("[data-testid=import-kinds] a[href$='/imports/template/institutions.xlsx']")
    download = info.value
    assert download.suggested_filename == "机构导入模板.xlsx"
    saved = tmp_path / "template.xlsx"
    download.save_as(saved)
    book = openpyxl.load_workbook(saved)
    assert book.sheetnames[:2] == ["机构", "填写说明"] and book["选项"].sheet_state == "hidden"
    sheet = book.worksheets[0]
    headers = [c.value for c in sheet[1]]
    assert headers == [c.canonical for c in importers.COLUMNS]
    assert str(sheet.cell(row=2, column=1).value).startswith("示例")

    # Upload the LibreOffice-filled template: a dry run first.
    batch_id = _upload(page, base, FIXTURE)
    assert page.locator("[data-testid=errors]").count() == 0
    assert "模板中的示例行，未导入" in page.inner_text("[data-testid=warnings]")
    rows = page.locator("[data-testid=preview] tbody tr")
    assert rows.count() == 3
    assert rows.locator(".badge").all_inner_texts() == ["新增"] * 3
    preview = page.inner_text("[data-testid=preview]")
    for name in NAMES:
        assert name in preview
    assert "52370306MJA00001X8" in preview and "日间照料中心" in preview
    assert not Institution.objects.exists()
    page.screenshot(path=str(artifacts / "import-preview-township.png"), full_page=True)

    with page.expect_navigation():
        page.click("[data-testid=confirm]")
    assert page.inner_text("[data-status=pending]") == "待县级审核"
    assert ImportBatch.objects.get(pk=batch_id).status == ImportBatch.Status.PENDING
    assert not Institution.objects.exists()  # staged: nothing in the registry yet
    _sign_out(page, base)

    # The county officer accepts it.
    sign_in(page, base, "civil05")
    page.goto(base + "/imports/")
    pending = page.locator("[data-testid=pending]")
    assert "待我审核" in pending.inner_text() and "institutions_libreoffice.xlsx" in pending.inner_text()
    with page.expect_navigation():
        pending.locator(f"a[href$='/imports/{batch_id}/']").click()
    assert "待审核：变更明细" in page.inner_text("[data-testid=preview]")
    assert page.locator("[data-testid=reject-form]").is_visible()
    page.screenshot(path=str(artifacts / "import-acceptance-county.png"), full_page=True)
    page.once("dialog", lambda dialog: dialog.accept())  # "接受该批上传？" confirmation
    with page.expect_navigation():
        page.click("[data-testid=accept]")
    assert page.inner_text("[data-status=committed]") == "已导入"
    assert ImportBatch.objects.get(pk=batch_id).status == ImportBatch.Status.COMMITTED

    page.goto(base + "/institutions/")
    listing = page.inner_text("main")
    for name in NAMES:
        assert name in listing
    page.screenshot(path=str(artifacts / "import-registry-after.png"), full_page=True)
    stored = {i.name: i for i in Institution.objects.all()}
    assert sorted(stored) == sorted(NAMES)
    home = stored["丝绸路街道颐康养老院"]
    assert (home.credit_code, home.type, home.region_id) == (
        "52370306MJA00001X8",
        "elder_home",
        "370306001001",
    )
    assert home.beds_eldercare == 80 and home.opened_on == datetime.date(2021, 3, 15)  # a Calc date cell
    assert stored["丝绸路街道绣花日间照料中心"].type == "day_care"
    happy = stored["丝绸路街道东片农村幸福院"]
    assert (happy.credit_code, happy.type) == ("", "rural_happiness_home")
    context.close()


def test_the_libreoffice_ods_previews_the_same_three_rows(browser, live_server, artifacts):
    make_tree()
    _user("township07", "township", "370306001000")
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    page = context.new_page()
    sign_in(page, live_server.url, "township07")
    _upload(page, live_server.url, SHEETS / "institutions_libreoffice.ods")
    assert page.locator("[data-testid=errors]").count() == 0
    rows = page.locator("[data-testid=preview] tbody tr")
    assert rows.locator(".badge").all_inner_texts() == ["新增"] * 3
    assert all(name in page.inner_text("[data-testid=preview]") for name in NAMES)
    assert page.locator("[data-testid=confirm]").is_visible()
    page.screenshot(path=str(artifacts / "import-preview-ods.png"), full_page=True)
    context.close()


def test_a_bad_row_is_shown_by_row_and_column_with_the_marked_sheet(
    browser, live_server, artifacts, tmp_path
):
    make_tree()
    _user("township06", "township", "370306001000")
    base = live_server.url
    # The LibreOffice file with two mistakes: a 17-character code, a region that does not exist.
    book = openpyxl.load_workbook(FIXTURE)
    sheet = book.worksheets[0]
    assert sheet["B4"].value == "12370306MB0123456B" and sheet["E5"].value == "370306001001"
    sheet["B4"] = "12370306MB0123456"
    sheet["E5"] = "370306001099"
    bad = tmp_path / "有错误的机构表.xlsx"
    book.save(bad)

    context = browser.new_context(
        viewport={"width": 1366, "height": 768}, locale="zh-CN", accept_downloads=True
    )
    page = context.new_page()
    sign_in(page, base, "township06")
    batch_id = _upload(page, base, bad)
    assert page.inner_text("[data-status=invalid]") == "有错误"
    assert page.locator("[data-testid=confirm]").count() == 0
    errors = page.locator("[data-testid=errors] tbody tr")
    assert errors.count() == 2
    found = {}
    for i in range(errors.count()):
        row = errors.nth(i)
        assert "table-danger" in row.get_attribute("class")
        number, column, message = (c.strip() for c in row.locator("td").all_inner_texts())
        found[int(number)] = (column, message)
    assert found[4][0] == "统一社会信用代码" and "18位" in found[4][1]
    assert found[5][0] == "所属区划代码" and "370306001099" in found[5][1]
    page.screenshot(path=str(artifacts / "import-errors-township.png"), full_page=True)

    link = page.locator("[data-testid=annotated]")
    assert link.get_attribute("href").endswith(f"/imports/{batch_id}/annotated.xlsx")
    with page.expect_download() as info:
        link.click()
    download = info.value
    assert download.suggested_filename.endswith(".xlsx")
    saved = tmp_path / "marked.xlsx"
    download.save_as(saved)
    marked = openpyxl.load_workbook(saved).worksheets[0]
    assert marked.cell(row=1, column=1).value == "错误说明"
    # Original row N is line N + 1; the original cells follow the 错误说明 column.
    assert marked.cell(row=5, column=2).value == "丝绸路街道绣花日间照料中心"
    assert "统一社会信用代码" in marked.cell(row=5, column=1).value
    assert "所属区划代码" in marked.cell(row=6, column=1).value
    assert "示例行" in (marked.cell(row=3, column=1).value or "")  # a notice, not an error
    assert marked.cell(row=4, column=1).value is None  # the good row carries no remark
    context.close()
