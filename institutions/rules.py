"""Compliance warnings (DOMAIN.md §3). Pure functions: facts in, warnings out; no ORM.

Each rule cites its source. Thresholds are parameters (per-region settings override the
defaults); "以上/不低于" include the number (民法典 第一千二百五十九条), and where two rules
meet at 100 beds the stricter one wins."""

from __future__ import annotations

from dataclasses import dataclass, field

from . import enums

DEFAULTS = {"big_home_beds": 100, "hospital_option_beds": 500}


@dataclass(frozen=True)
class Facts:
    family: str
    type: str
    status: str = "operating"
    beds_eldercare: int | None = None
    internal_unit: str = ""
    doctors: int | None = None
    nurses: int | None = None
    run_by_medical: bool = False
    has_active_contract: bool | None = None  # None: contracts not known (the contracts module)
    grade: str = ""
    geriatric_dept: bool | None = None
    green_channel: bool | None = None


SHORT = {
    "big_home_no_medical": "缺内设医疗机构",
    "small_home_no_contract": "缺医养签约",
    "may_open_hospital": "可设医院",
    "no_geriatric_dept": "未设老年病科",
    "no_green_channel": "无绿色通道",
}


# The seeds by file name (the stable reference) and how an official cites them.
SEED_TITLES = {
    "000_a6a1084fb0cf220e.txt": "周政办字〔2017〕109号",
    "001_8ffd31154bc4d7b9.txt": "冯政发〔2018〕24号",
    "002_143d69c61604bf96.txt": "东政办〔2022〕42号",
    "003_596fed3f93511451.txt": "四川某区医养结合实施方案",
    "004_b5b0377e4d18a956.txt": "珠府办〔2016〕25号",
}


@dataclass(frozen=True)
class Warning:
    code: str
    message: str
    source: str
    severity: str = "warning"  # or "info"

    @property
    def short(self) -> str:
        return SHORT.get(self.code, self.code)

    @property
    def citation(self) -> str:
        """The source as an official reads it: 文号 instead of the seed's file name."""
        text = self.source
        for name, title in SEED_TITLES.items():
            text = text.replace(f"{name}（{title}）", title).replace(name, title)
        return text


@dataclass(frozen=True)
class Thresholds:
    big_home_beds: int = DEFAULTS["big_home_beds"]
    hospital_option_beds: int = DEFAULTS["hospital_option_beds"]
    extra: dict = field(default_factory=dict)


def _has_unit(f: Facts) -> bool:
    return bool(f.internal_unit) and f.internal_unit != enums.InternalUnit.NONE


def eldercare_warnings(f: Facts, t: Thresholds) -> list[Warning]:
    out: list[Warning] = []
    beds = f.beds_eldercare
    if beds is None:
        return out
    if beds >= t.big_home_beds:
        if not _has_unit(f) and not ((f.doctors or 0) + (f.nurses or 0) > 0):
            out.append(
                Warning(
                    "big_home_no_medical",
                    f"养老床位{beds}张（{t.big_home_beds}张及以上），应设医务室或护理站等内设医疗机构，或配备医护人员。",
                    "003_596fed3f93511451.txt §二(二)5",
                )
            )
    elif not _has_unit(f) and not f.run_by_medical and f.has_active_contract is False:
        out.append(
            Warning(
                "small_home_no_contract",
                f"养老床位{beds}张（不足{t.big_home_beds}张）且无内设医疗机构，应与医疗卫生机构签订有效的合作协议。",
                "003_596fed3f93511451.txt §二(二)5；004_b5b0377e4d18a956.txt 三(三)1",
            )
        )
    if beds >= t.hospital_option_beds:
        out.append(
            Warning(
                "may_open_hospital",
                f"养老床位{beds}张（{t.hospital_option_beds}张及以上），可申请设置老年病医院、康复医院或中医医院。",
                "004_b5b0377e4d18a956.txt（珠府办〔2016〕25号）",
                severity="info",
            )
        )
    return out


def medical_warnings(f: Facts, t: Thresholds) -> list[Warning]:
    out: list[Warning] = []
    if (
        f.type in (enums.MedicalType.GENERAL_HOSPITAL, enums.MedicalType.TCM_HOSPITAL)
        and f.grade in ("2", "3")
        and f.geriatric_dept is False
    ):
        out.append(
            Warning(
                "no_geriatric_dept",
                "二级及以上综合医院、中医医院应设老年病科。",
                "003_596fed3f93511451.txt §二(三)9",
            )
        )
    if f.type != enums.MedicalType.PUBLIC_HEALTH and f.green_channel is False:
        out.append(
            Warning(
                "no_green_channel",
                "医疗卫生机构应开设老年人就医绿色通道。",
                "000_a6a1084fb0cf220e.txt（周政办字〔2017〕109号）；001_8ffd31154bc4d7b9.txt（冯政发〔2018〕24号）",
            )
        )
    return out


def warnings_for(f: Facts, t: Thresholds | None = None) -> list[Warning]:
    """Warnings for an operating institution (closed and planned ones are not judged)."""
    t = t or Thresholds()
    if f.status != enums.Status.OPERATING:
        return []
    if f.family == enums.Family.ELDERCARE:
        return eldercare_warnings(f, t)
    return medical_warnings(f, t)
