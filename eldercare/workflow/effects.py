"""What each filing type asks for and what its approval does to the registry (DOMAIN.md §5).

A filing type names its effect (FilingType.effect); the effect owns the form's fields, their
validation (Chinese messages per field) and the registry write made on the decision date,
through institutions.services with the deciding officer as the audited actor and the filing as
the authority. The attachment list, time limits and lifecycle stay data on the type.

- internal_unit (养老机构内设医疗机构备案, health): the elder-care institution gains its
  internal unit (医务室/护理站/诊所…) — 国卫办老龄发〔2019〕17号 made it a filing only.
- run_by_medical (医疗卫生机构设立养老机构 / 公立医疗机构增设养老服务职能备案, civil;
  东政办〔2022〕42号 二(四)): an elder-care record run by the medical institution (医中办养).
- eldercare_filed (养老机构备案, civil; 000's 设立许可 became a filing in 2018): the elder-care
  institution enters the registry, or its filed facts update the existing record.
- subject: the object the filing is about (a contract, a subsidy application) handles it
  itself through a hook registered by its app (`register_subject_hook`)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.core.exceptions import ValidationError

from institutions import enums

TEXT, INT, CHOICE, DATE = "text", "int", "choice", "date"


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: str = TEXT
    required: bool = False
    choices: tuple[tuple[str, str], ...] = ()
    help: str = ""


_ELDERCARE_TYPES = tuple((str(v), str(label)) for v, label in enums.EldercareType.choices)
_UNITS = tuple(
    (str(v), str(label)) for v, label in enums.InternalUnit.choices if v != enums.InternalUnit.NONE
)
_OWNERSHIP = tuple((str(v), str(label)) for v, label in enums.Ownership.choices)

FIELDS: dict[str, tuple[Field, ...]] = {
    "internal_unit": (
        Field("internal_unit", "内设医疗机构类别", CHOICE, True, _UNITS),
        Field("unit_name", "内设医疗机构名称", help="如：某某养老院医务室"),
        Field("doctors", "执业（助理）医师人数", INT),
        Field("nurses", "注册护士人数", INT),
        Field("practice_licence", "诊所备案凭证/执业许可证编号"),
    ),
    "run_by_medical": (
        Field(
            "mode",
            "备案事项",
            CHOICE,
            True,
            (("establish", "医疗卫生机构设立养老机构"), ("add_function", "公立医疗机构增设养老服务职能")),
        ),
        Field("name", "养老机构名称", TEXT, True),
        Field("type", "养老机构类型", CHOICE, True, _ELDERCARE_TYPES),
        Field("beds_eldercare", "核定养老床位数", INT, True),
        Field("beds_nursing", "其中护理型床位数", INT),
        Field(
            "credit_code",
            "养老机构统一社会信用代码",
            help="独立法人的养老机构填写其代码；内设养老部门或增设职能的留空，沿用医疗机构的代码",
        ),
        Field("address", "服务场所地址"),
    ),
    "eldercare_filed": (
        Field("name", "养老机构名称", TEXT, True),
        Field("type", "养老机构类型", CHOICE, True, _ELDERCARE_TYPES),
        Field("credit_code", "统一社会信用代码", help="农村幸福院等无代码的可留空"),
        Field("ownership", "举办性质", CHOICE, False, _OWNERSHIP),
        Field("beds_eldercare", "核定养老床位数", INT, True),
        Field("beds_nursing", "其中护理型床位数", INT),
        Field("caregivers", "养老护理员人数", INT),
        Field("address", "服务场所地址"),
    ),
    "subject": (),
    "none": (),
}

# The family of the institution a filing is about; for the first two the institution is required
# (养老机构备案 may be about a record already in the registry, or a new one).
SUBJECT_FAMILY = {
    "internal_unit": enums.Family.ELDERCARE,
    "run_by_medical": enums.Family.MEDICAL,
    "eldercare_filed": enums.Family.ELDERCARE,
}
SUBJECT_REQUIRED = frozenset({"internal_unit", "run_by_medical"})


def fields_for(effect: str) -> tuple[Field, ...]:
    return FIELDS.get(effect, ())


def clean_payload(effect: str, raw: dict, *, complete: bool) -> dict:
    """Typed payload, or ValidationError({field: Chinese message}). `complete`: required fields
    must be present (at submission); a draft may be saved half-filled."""
    out, errors = {}, {}
    for f in fields_for(effect):
        value = raw.get(f.name)
        if isinstance(value, str):
            value = value.strip()
        if value in (None, ""):
            if f.required and complete:
                errors[f.name] = f"请填写“{f.label}”。"
            continue
        if f.kind == INT:
            try:
                number = int(str(value))
            except ValueError:
                errors[f.name] = f"“{f.label}”应为整数，收到“{value}”。"
                continue
            if number < 0:
                errors[f.name] = f"“{f.label}”不能为负数。"
                continue
            value = number
        elif f.kind == CHOICE:
            allowed = {k for k, _ in f.choices}
            labels = {label: k for k, label in f.choices}
            value = labels.get(value, value)
            if value not in allowed:
                errors[f.name] = f"“{f.label}”的取值“{value}”不在可选范围内。"
                continue
        elif f.kind == DATE:
            try:
                value = datetime.date.fromisoformat(str(value)).isoformat()
            except ValueError:
                errors[f.name] = f"“{f.label}”应为日期（如 2026-10-09）。"
                continue
        else:
            value = str(value)[:300]
        out[f.name] = value
    if "beds_nursing" in out and "beds_eldercare" in out and out["beds_nursing"] > out["beds_eldercare"]:
        errors["beds_nursing"] = "护理型床位数不能超过核定养老床位数。"
    if errors:
        raise ValidationError(errors)
    return out


def precheck(filing) -> dict:
    """What approval's registry write would refuse, found at submission — the deciding side
    cannot correct the content, so a filing that cannot be approved must not get that far.
    {field: Chinese message}."""
    from institutions import credit_code as cc
    from institutions.models import Institution

    effect, p, errors = filing.type.effect, filing.payload, {}
    if effect == "internal_unit" and filing.institution is not None:
        have = filing.institution.internal_unit
        if have and have == p.get("internal_unit"):
            label = dict(_UNITS).get(have, have)
            errors["internal_unit"] = f"“{filing.institution.name}”已登记内设{label}，无需重复备案。"
        return errors
    if effect not in ("run_by_medical", "eldercare_filed") or not p.get("name") or not p.get("type"):
        return errors
    hospital = filing.institution if effect == "run_by_medical" else None
    if (
        effect == "run_by_medical"
        and p.get("mode") == "add_function"
        and hospital.ownership != enums.Ownership.PUBLIC
    ):
        errors["mode"] = "“公立医疗机构增设养老服务职能”只适用于公立医疗机构；该机构的举办性质不是公立。"
    code = (p.get("credit_code") or (hospital.credit_code if hospital is not None else "")).strip().upper()
    if code:
        check = cc.validate(code)
        if check.error:
            errors["credit_code"] = check.error
            return errors
        code = check.code
    elif p["type"] not in enums.CODELESS_TYPES:
        errors["credit_code"] = "此类养老机构须填写统一社会信用代码（农村幸福院等可不填）。"
        return errors
    if effect == "eldercare_filed" and filing.institution_id:
        return errors  # the filing updates the record it is about
    region = hospital.region_id if hospital is not None else filing.region_id
    clash = (
        Institution.objects.filter(family=enums.Family.ELDERCARE, credit_code=code)
        if code
        else Institution.objects.filter(
            family=enums.Family.ELDERCARE, credit_code="", region_id=region, name=p["name"]
        )
    ).first()
    if clash is not None:
        errors["credit_code" if code else "name"] = (
            f"名录中已有养老机构“{clash.name}”（{clash.portal_no}）使用此"
            + ("统一社会信用代码" if code else "名称")
            + "；如为同一机构，请改为对该机构办理备案。"
        )
    return errors


def label_of(effect: str, name: str, value) -> str:
    """The value as the form shows it (a choice's Chinese label)."""
    for f in fields_for(effect):
        if f.name == name and f.kind == CHOICE:
            return dict(f.choices).get(value, value)
    return "" if value is None else str(value)


def display(effect: str, payload: dict) -> list[tuple[str, str]]:
    return [(f.label, label_of(effect, f.name, payload.get(f.name))) for f in fields_for(effect)]


# -- subject hooks (contracts, subsidies) ---------------------------------------------------------
_SUBJECT_HOOKS: dict[str, object] = {}


def register_subject_hook(model_label: str, hook) -> None:
    """`hook(*, filing, step, actor)` runs inside the transition's transaction after every
    transition of a filing whose subject is a `model_label` object (e.g. "contracts.contract"):
    the subject mirrors the filing (a contract becomes 已备案 on approval)."""
    _SUBJECT_HOOKS[model_label] = hook


def subject_hook(filing):
    if filing.subject_type_id is None:
        return None
    return _SUBJECT_HOOKS.get(filing.subject_type.model_class()._meta.label_lower)


# -- registry effects ---------------------------------------------------------------------------
def apply(filing, *, actor, day: datetime.date):
    """The approval's registry write, effective on the decision date. Returns the institution
    created or changed (or None)."""
    from institutions import services as registry

    effect, p = filing.type.effect, filing.payload
    authority = f"{filing.type.name} {filing.number}"
    if effect == "internal_unit":
        changes = {"internal_unit": p["internal_unit"]}
        for key in ("doctors", "nurses"):
            if p.get(key) is not None:
                changes[key] = p[key]
        return registry.institution_change(
            actor=actor, institution=filing.institution, changes=changes, effective=day, authority=authority
        )
    if effect == "run_by_medical":
        hospital = filing.institution
        facts = {
            "name": p["name"],
            "type": p["type"],
            "region": hospital.region_id,
            "run_by": hospital.pk,
            "beds_eldercare": p["beds_eldercare"],
            "opened_on": day,
            "ownership": hospital.ownership,
        }
        for key in ("beds_nursing", "address"):
            if p.get(key) not in (None, ""):
                facts[key] = p[key]
        return registry.institution_create(
            actor=actor,
            family=enums.Family.ELDERCARE,
            facts=facts,
            credit_code=p.get("credit_code") or hospital.credit_code,
            effective=day,
            authority=authority,
        )
    if effect == "eldercare_filed":
        facts = {
            k: p[k]
            for k in ("name", "type", "ownership", "beds_eldercare", "beds_nursing", "caregivers", "address")
            if p.get(k) not in (None, "")
        }
        if filing.institution_id:
            return registry.institution_change(
                actor=actor, institution=filing.institution, changes=facts, effective=day, authority=authority
            )
        return registry.institution_create(
            actor=actor,
            family=enums.Family.ELDERCARE,
            facts={**facts, "region": filing.region_id, "opened_on": day},
            credit_code=p.get("credit_code", ""),
            effective=day,
            authority=authority,
        )
    return None
