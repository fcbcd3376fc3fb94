"""The papers a filing issues (issue 4, "Documents people print"): 受理通知书, 一次性补正告知书 and
准予/不予备案决定书 as printable pages and PDFs, each as it was on the day it was issued, scoped,
and with Chinese that prints as Chinese (Noto CJK embedded, not boxes)."""

import datetime
import re
import shutil
import subprocess
import sys
import zlib

import pytest
from django.urls import reverse

from eldercare.audit.models import Action, AuditEvent
from eldercare.workflow import services as wf
from eldercare.workflow.documents import chinese_date, items_of
from eldercare.workflow.models import FilingDocument, load_calendar
from eldercare.workflow.workdays import UNPUBLISHED, add_working_days
from tests.factories import RUN_BY_PAYLOAD, at, make_home, make_hospital, ready_filing

pytestmark = pytest.mark.django_db
D = datetime.date
PROVISIONAL = "节假日安排未发布，期限为暂定"
CORRECTIONS = (
    "1. 缺少消防安全证明材料\n2、服务场所租赁合同已过期，请提供有效期内的合同\n\n（3）补充医护人员名单"
)


@pytest.fixture
def bj_town(make_user):
    """Township staff of 北郊镇, where the hospital and the home are."""
    return make_user("bj_town", "township", "370306100000")


@pytest.fixture
def approved(regions, bj_town, civil, monkeypatch):
    """医疗卫生机构设立养老机构 through acceptance, return, resubmission, re-acceptance and
    approval: four documents (receipt, correction, receipt, decision)."""
    f = ready_filing(bj_town, "medical_runs_eldercare", make_hospital(), RUN_BY_PAYLOAD)
    for day, actor, action, comment in (
        (D(2026, 9, 28), bj_town, "submit", ""),
        (D(2026, 9, 30), civil, "accept", ""),  # decision due 2026-10-20 (National Day)
        (D(2026, 10, 12), civil, "return", CORRECTIONS),
        (D(2026, 10, 13), bj_town, "submit", ""),
        (D(2026, 10, 14), civil, "accept", ""),  # due 2026-10-28: the clock starts afresh
        (D(2026, 10, 16), civil, "approve", "同意备案"),
    ):
        at(monkeypatch, day)
        f = wf.filing_transition(actor=actor, filing=f, action=action, comment=comment)
    return f


def docs_of(filing):
    return list(FilingDocument.objects.filter(filing=filing).order_by("issued_on", "id"))


def page(client, doc):
    resp = client.get(reverse("workflow:document", args=[doc.filing_id, doc.pk]))
    assert resp.status_code == 200, resp.content[:500]
    return resp.content.decode()


def text_of(html: str) -> str:
    """The page's text with tags and whitespace removed (assertions read sentences)."""
    return re.sub(r"\s+", "", re.sub(r"<[^>]+>", "", html))


# -- the helpers ------------------------------------------------------------------------------------
def test_chinese_dates_and_correction_items():
    assert chinese_date(D(2026, 10, 6)) == "2026年10月6日"
    assert items_of(CORRECTIONS) == [
        "缺少消防安全证明材料",
        "服务场所租赁合同已过期，请提供有效期内的合同",
        "补充医护人员名单",
    ]


# -- the pages --------------------------------------------------------------------------------------
def test_receipt_shows_the_deadline_as_of_acceptance(approved, civil, client, login):
    """The first 受理通知书 still says 2026-10-20 although the filing was returned and its
    running deadline is now another one (or none)."""
    receipt, correction, receipt2, decision = docs_of(approved)
    assert [d.kind for d in (receipt, correction, receipt2, decision)] == [
        "receipt",
        "correction",
        "receipt",
        "decision",
    ]
    assert approved.due_on is None  # decided: no clock running
    login(client, civil)
    html = page(client, receipt)
    text = text_of(html)
    assert "周村区民政局" in text and "受理通知书" in text
    assert receipt.number == "医养备受〔2026〕1号" and receipt.number in text
    assert "北郊镇卫生院：" in text  # addressed to the applying institution
    assert approved.number in text and approved.title.replace(" ", "") in text
    assert "医疗卫生机构设立养老机构／公立医疗机构增设养老服务职能备案" in text
    assert "提交日期2026年9月28日" in text
    assert "受理日期2026年9月30日" in text
    assert "最迟于2026年10月20日（含当日）作出决定" in text
    assert PROVISIONAL not in text
    assert "经办人：civil1" in text and "（印章）" in text
    assert "data-print" in html and "打印" in text  # the button, hidden in print by the stylesheet
    assert "filing-document.css" in html and "<style" not in html  # CSP: no inline styles

    text2 = text_of(page(client, receipt2))
    assert "提交日期2026年10月13日" in text2 and "最迟于2026年10月28日（含当日）作出决定" in text2
    assert "医养备受〔2026〕2号" in text2


def test_correction_notice_lists_everything_and_states_the_clock(approved, civil, client, login):
    correction = docs_of(approved)[1]
    login(client, civil)
    html = page(client, correction)
    text = text_of(html)
    assert "一次性补正告知书" in text and correction.number == "医养备补〔2026〕1号" in text
    items = re.search(r'data-testid="correction-items">(.*?)</ol>', html, re.S).group(1)
    assert re.findall(r"<li>(.*?)</li>", items) == [
        "缺少消防安全证明材料",
        "服务场所租赁合同已过期，请提供有效期内的合同",
        "补充医护人员名单",
    ]
    assert "提交日期2026年9月28日" in text and "告知日期2026年10月12日" in text
    assert "办理时限停止计算（原作出决定期限为2026年10月20日）" in text
    assert "重新受理之日起，办理时限重新计算" in text
    assert "2026年10月12日" in text  # the paper's own date


def test_approval_decision_names_the_registry_record(approved, civil, client, login):
    decision = docs_of(approved)[-1]
    home = approved.result_institution
    login(client, civil)
    text = text_of(page(client, decision))
    assert "准予备案决定书" in text and "不予备案" not in text
    assert decision.number == "医养备决〔2026〕1号" in text
    assert "本机关决定准予备案" in text and "审查意见：同意备案" in text
    assert f"已在养老机构名录中登记：{home.name}（门户编号{home.portal_no}），自2026年10月16日起生效" in text
    assert "依据：东政办〔2022〕42号二(四)" in text  # the basis, without the seed file reference
    assert ".txt" not in text
    assert "行政复议" not in text
    assert "决定日期2026年10月16日" in text and "受理日期2026年10月14日" in text


def test_rejection_decision_gives_reasons_and_remedy(regions, bj_town, health, client, login, monkeypatch):
    f = ready_filing(bj_town, "internal_medical", make_home(), {"internal_unit": "infirmary"})
    at(monkeypatch, D(2026, 11, 2))
    wf.filing_transition(actor=bj_town, filing=f, action="submit")
    wf.filing_transition(actor=health, filing=f, action="accept")
    at(monkeypatch, D(2026, 11, 5))
    wf.filing_transition(
        actor=health, filing=f, action="reject", comment="医务室面积不足 40 平方米\n未配备执业医师"
    )
    decision = docs_of(f)[-1]
    login(client, health)
    html = page(client, decision)
    text = text_of(html)
    assert "周村区卫生健康局" in text  # the health side decides this type
    assert "不予备案决定书" in text and decision.number == "医备决〔2026〕1号" in text
    assert "本机关决定不予备案。理由如下" in text
    reasons = re.search(r'data-testid="reasons">(.*?)</ol>', html, re.S).group(1)
    assert re.findall(r"<li>(.*?)</li>", reasons) == ["医务室面积不足 40 平方米", "未配备执业医师"]
    assert "申请人如不服本决定，可依法申请行政复议或提起行政诉讼。" in text
    assert "北郊镇敬老院：" in text and "决定日期2026年11月5日" in text
    assert "已在养老机构名录中登记" not in text


def test_a_deadline_in_2027_is_marked_provisional(regions, bj_town, health, client, login, monkeypatch):
    f = ready_filing(bj_town, "internal_medical", make_home(), {"internal_unit": "infirmary"})
    at(monkeypatch, D(2026, 12, 18))
    wf.filing_transition(actor=bj_town, filing=f, action="submit")
    at(monkeypatch, D(2026, 12, 21))
    wf.filing_transition(actor=health, filing=f, action="accept")
    expected = add_working_days(D(2026, 12, 21), 10, load_calendar())
    assert expected.due.year == 2027 and expected.provisional  # 2027's holidays are not published
    login(client, health)
    text = text_of(page(client, docs_of(f)[0]))
    assert f"最迟于{chinese_date(expected.due)}（含当日）作出决定" in text
    assert PROVISIONAL in text and UNPUBLISHED in text


def test_documents_are_scoped_and_need_the_permission(approved, township, make_user, client, login):
    receipt = docs_of(approved)[0]
    html_url = reverse("workflow:document", args=[approved.pk, receipt.pk])
    pdf_url = reverse("workflow:document_pdf", args=[approved.pk, receipt.pk])
    resp = client.get(html_url)
    assert resp.status_code == 302 and "/login/" in resp["Location"]
    login(client, township)  # 丝绸路街道: not where the filing is
    assert client.get(html_url).status_code == 404
    assert client.get(pdf_url).status_code == 404
    assert not AuditEvent.objects.filter(action=Action.EXPORT).exists()
    neighbour = make_user("neighbour", "civil", "370307000000")  # the other county's officer
    login(client, neighbour)
    assert client.get(html_url).status_code == 404
    login(client, make_user("fin", "finance", "370306000000"))  # in scope, no filing permission
    assert client.get(html_url).status_code == 403


def test_a_document_of_another_filing_is_not_found(approved, regions, bj_town, civil, client, login):
    other = ready_filing(bj_town, "internal_medical", make_home(), {"internal_unit": "infirmary"})
    login(client, civil)
    receipt = docs_of(approved)[0]
    assert client.get(reverse("workflow:document", args=[other.pk, receipt.pk])).status_code == 404
    assert client.get(reverse("workflow:document", args=[approved.pk, 999999])).status_code == 404


# -- the PDF ----------------------------------------------------------------------------------------
def _noto_cjk_installed() -> bool:
    fc_list = shutil.which("fc-list")
    if not fc_list:
        return False
    out = subprocess.run([fc_list], capture_output=True, text=True).stdout  # noqa: S603 - fixed arguments
    return "Noto Serif CJK SC" in out and "Noto Sans CJK SC" in out


def _streams(pdf: bytes) -> list[bytes]:
    """Every stream of the PDF, inflated where it is deflated (fonts, object streams, CMaps)."""
    out = []
    for raw in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            out.append(zlib.decompress(raw))
        except zlib.error:
            out.append(raw)
    return out


def _mapped_characters(pdf: bytes) -> set[str]:
    """The characters the embedded fonts' ToUnicode CMaps map glyphs to: what a reader can
    extract (a glyph drawn as a box maps to nothing)."""
    chars: set[str] = set()
    pair = rb"<([0-9A-Fa-f]+)>[ \t]*<([0-9A-Fa-f]+)>"
    for s in _streams(pdf):
        for block in re.findall(rb"beginbfchar(.*?)endbfchar", s, re.S):
            for _glyph, text in re.findall(pair, block):
                chars.update(bytes.fromhex(text.decode()).decode("utf-16-be", "replace"))
        for block in re.findall(rb"beginbfrange(.*?)endbfrange", s, re.S):
            for lo, hi, base in re.findall(pair + rb"[ \t]*<([0-9A-Fa-f]+)>", block):
                first = int(base, 16)
                chars.update(chr(first + i) for i in range(int(hi, 16) - int(lo, 16) + 1))
    return chars


def pdf_text(pdf: bytes, tmp_path) -> str | None:
    tool = shutil.which("pdftotext")
    if not tool:
        return None
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    out = subprocess.run([tool, "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True)  # noqa: S603
    return re.sub(r"\s+", "", out.stdout.decode())


def pdf_fonts(pdf: bytes, tmp_path) -> str:
    tool = shutil.which("pdffonts")
    if tool:
        path = tmp_path / "fonts.pdf"
        path.write_bytes(pdf)
        return subprocess.run([tool, str(path)], capture_output=True, text=True, check=True).stdout  # noqa: S603
    return b"\n".join(_streams(pdf) + [pdf]).decode("latin-1")


def test_the_pdf_is_a_real_pdf_in_noto_cjk(approved, civil, client, login, tmp_path):
    if not _noto_cjk_installed():
        pytest.skip("fonts-noto-cjk is not installed (Noto Serif/Sans CJK SC): Chinese would print as boxes")
    decision = docs_of(approved)[-1]
    login(client, civil)
    resp = client.get(reverse("workflow:document_pdf", args=[approved.pk, decision.pk]))
    assert resp.status_code == 200, resp.content[:500]
    assert resp["Content-Type"] == "application/pdf"
    pdf = resp.content
    assert pdf.startswith(b"%PDF")
    disposition = resp["Content-Disposition"]
    assert disposition.startswith("inline;")
    assert "filename*=UTF-8''%E5%8C%BB%E5%85%BB%E5%A4%87%E5%86%B3%E3%80%942026%E3%80%951%E5%8F%B7.pdf" in (
        disposition
    )  # 医养备决〔2026〕1号.pdf
    ev = AuditEvent.objects.get(action=Action.EXPORT, username="civil1")
    assert ev.detail["document"] == "医养备决〔2026〕1号" and ev.detail["format"] == "pdf"

    text = pdf_text(pdf, tmp_path)
    if text is not None:  # poppler-utils installed
        for phrase in ("准予备案决定书", "医养备决〔2026〕1号", "周村区民政局", "2026年10月16日", "（印章）"):
            assert phrase in text, phrase
        assert "打印" not in text  # the toolbar is not on the paper
    else:  # no poppler: the fonts map the title's glyphs back to its characters
        assert set("准予备案决定书周村区民政局") <= _mapped_characters(pdf)
    fonts = pdf_fonts(pdf, tmp_path)
    names = fonts.replace("-", "")  # WeasyPrint names them e.g. ABCDEF+Noto-Serif-CJK-SC-Bold
    assert "NotoSerifCJKSC" in names and "NotoSansCJKSC" in names, fonts
    if shutil.which("pdffonts"):
        rows = [line.split() for line in fonts.splitlines()[2:] if line.strip()]
        assert rows and all("yes" in row[-5:-2] for row in rows), fonts  # every font embedded
        assert all("CJK" in row[0] for row in rows), fonts  # no fallback font: no tofu


def test_the_pdf_view_answers_503_without_weasyprint(approved, civil, client, login, monkeypatch):
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # `import weasyprint` raises ImportError
    decision = docs_of(approved)[-1]
    login(client, civil)
    resp = client.get(reverse("workflow:document_pdf", args=[approved.pk, decision.pk]))
    assert resp.status_code == 503
    body = resp.content.decode()
    assert "PDF 生成组件未安装" in body and "请使用打印页面" in body
    assert reverse("workflow:document", args=[approved.pk, decision.pk]) in body
    assert not AuditEvent.objects.filter(action=Action.EXPORT).exists()


def test_a_reprint_states_the_deadline_as_issued(regions, login, make_user, monkeypatch, settings, tmp_path):
    """Entering 2027's holidays later changes the running deadline, not what the paper said."""
    from django.test import Client

    from eldercare.workflow import services as wf
    from eldercare.workflow.models import CalendarDay, CalendarYear
    from tests.factories import make_home, ready_filing

    settings.PORTAL_UPLOAD_ROOT = str(tmp_path)
    town = make_user("bj_doc", "township", "370306100000")
    health = make_user("health_doc", "health", "370306000000")
    f = ready_filing(town, "internal_medical", make_home(), {"internal_unit": "infirmary"})
    at(monkeypatch, datetime.date(2026, 12, 18))
    wf.filing_transition(actor=town, filing=f, action="submit")
    at(monkeypatch, datetime.date(2026, 12, 21))
    wf.filing_transition(actor=health, filing=f, action="accept")
    receipt = f.documents.get(kind="receipt")
    assert (receipt.deadline, receipt.deadline_provisional) == (datetime.date(2027, 1, 4), True)
    CalendarYear.objects.create(year=2027, source="test")
    CalendarDay.objects.create(date=datetime.date(2027, 1, 1), is_workday=False, note="元旦")
    monkeypatch.undo()
    body = login(Client(), health).get(f"/filings/{f.pk}/documents/{receipt.pk}/").content.decode()
    assert "2027年1月4日" in body and "暂定" in body
