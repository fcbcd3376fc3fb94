"""Demo filings in every open state (DOMAIN.md §5), made through the workflow service as the
demo users, so the inbox, the timeline, the documents and the home cards have something to
show. Created once (only when the database has no filings)."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile

from eldercare.accounts.models import User
from eldercare.core.demo.institutions import credit_code
from eldercare.regions.models import Region
from eldercare.workflow import services as wf
from eldercare.workflow.models import Filing, FilingType
from institutions.models import Institution


def sample_pdf(title: str) -> bytes:
    """A one-page PDF standing in for a scanned form (ASCII text: the demo's 'scan')."""
    text = title.encode("ascii", "replace")
    stream = b"BT /F1 14 Tf 40 760 Td (" + text + b") Tj ET"
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = b"%PDF-1.4\n", []
    for i, obj in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return out


def _draft(user, code, institution=None, payload=None, region=None):
    ftype = FilingType.objects.get(code=code)
    filing = wf.filing_create(
        actor=user, type=ftype, institution=institution, payload=payload or {}, region=region
    )
    for req in ftype.attachments:
        if req.get("required"):
            wf.attachment_add(
                actor=user,
                filing=filing,
                requirement=req["code"],
                uploaded=SimpleUploadedFile(f"{req['label']}.pdf", sample_pdf(req["code"])),
            )
    return filing


def load() -> int:
    if Filing.objects.exists():
        return 0
    users = {
        u.username: u
        for u in User.objects.filter(username__in=["township01", "township02", "civil01", "health01"])
    }
    inst = {i.name: i for i in Institution.objects.filter(name__in=["北郊镇卫生院", "北郊镇敬老院"])}
    if len(users) < 4 or len(inst) < 2:
        return 0
    t1, t2, civil, health = (users[n] for n in ("township01", "township02", "civil01", "health01"))
    place = dict(
        Region.objects.filter(code__in=["370306001002", "370306001003", "370306100201"]).values_list(
            "code", "name"
        )
    )

    # 北郊镇卫生院 sets up an elder-care centre (医中办养): waiting for civil affairs to accept.
    f = _draft(
        t2,
        "medical_runs_eldercare",
        inst["北郊镇卫生院"],
        {
            "mode": "establish",
            "name": "北郊镇卫生院医养结合中心",
            "type": "care_home",
            "beds_eldercare": 40,
            "beds_nursing": 30,
        },
    )
    wf.filing_transition(actor=t2, filing=f, action="submit")

    # 北郊镇敬老院 opens its 医务室: filed, accepted and approved by the health bureau.
    f = _draft(
        t2,
        "internal_medical",
        inst["北郊镇敬老院"],
        {"internal_unit": "infirmary", "doctors": 1, "nurses": 2},
    )
    wf.filing_transition(actor=t2, filing=f, action="submit")
    wf.filing_transition(actor=health, filing=f, action="accept")
    wf.filing_transition(actor=health, filing=f, action="approve", comment="材料齐全，予以备案。")

    # A new community station in 丝绸路街道: returned for correction.
    f = _draft(
        t1,
        "eldercare",
        payload={
            "name": f"{place.get('370306001002', '')}老年驿站",
            "type": "community_center",
            "beds_eldercare": 12,
            "ownership": "public_private",
            "credit_code": credit_code("demo-station-1", "5", "2"),
        },
        region="370306001002",
    )
    wf.filing_transition(actor=t1, filing=f, action="submit")
    wf.filing_transition(
        actor=civil,
        filing=f,
        action="return",
        comment="1. 请补充消防安全证明材料；\n2. 备案书缺少法定代表人签字。",
    )

    # Another one accepted and awaiting the decision.
    f = _draft(
        t1,
        "eldercare",
        payload={
            "name": f"{place.get('370306001003', '')}长者之家",
            "type": "community_center",
            "beds_eldercare": 20,
            "ownership": "private",
            "credit_code": credit_code("demo-station-2", "5", "2"),
        },
        region="370306001003",
    )
    wf.filing_transition(actor=t1, filing=f, action="submit")
    wf.filing_transition(actor=civil, filing=f, action="accept")

    # A draft a township clerk has not sent yet.
    _draft(
        t2,
        "eldercare",
        payload={
            "name": f"{place.get('370306100201', '')}幸福院",
            "type": "rural_happiness_home",
            "beds_eldercare": 10,
        },
        region="370306100201",
    )
    return Filing.objects.count()
