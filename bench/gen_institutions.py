"""Generate a synthetic `institutions` sheet (CONTRACT.md columns) for the import benchmark.

    .venv/bin/python bench/gen_institutions.py 100000 /tmp/institutions.xlsx [--seed 1] [--region-prefix 370306]
    .venv/bin/python bench/gen_institutions.py 10000 /tmp/institutions.csv

The sheet looks like a township return: a title row, a 填报单位/填报日期 row, then the header
row with the canonical headers of `institutions.importers.COLUMNS` and N data rows. Values are
messy but valid for the portal's parser: beds as 120 or "120张", some full-width digits, flags
是/否/有/无/blank, dates 2020-01-05 or 2020年1月5日, 敬老院 as a synonym of 养老院. Every row has
a unique name and a unique 18-character credit code with a correct GB 32100 check character
(1 in 5 rows is an elder-care institution). Region codes come from `region_tree()`, a
deterministic county of 9 townships × 30 villages (…001001 to …009030); import_bench.py
installs that tree. Same arguments and seed -> the same file content.

No Django needed: only `institutions.credit_code`, `institutions.enums` (Django's TextChoices,
no settings) and `institutions.importers.COLUMNS`.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from institutions import enums  # noqa: E402
from institutions.credit_code import ALPHABET, check_character  # noqa: E402
from institutions.importers import CANONICAL  # noqa: E402

TOWNSHIPS = 9
VILLAGES_PER_TOWNSHIP = 30
_TOWNSHIP_NAMES = [
    "丝绸路街道",
    "大街街道",
    "青年路街道",
    "永安街道",
    "城北路街道",
    "北郊镇",
    "南郊镇",
    "王村镇",
    "萌水镇",
]
_VILLAGE_STEMS = (
    "李家 王家 张家 刘家 孙家 赵家 高家 徐家 马家 吕家 郭家 石家 韩家 彭家 杜家 黄家 田家 宋家 "
    "东坡 西坡 南河 北河 小庄 大庄 前营 后营 柳行 桑园 杏林 梨园 荆山 凤山 泉头 石桥 安仁 崔军"
).split()
_BRANDS = (
    "仁和 康宁 济生 同仁 益寿 福康 安康 长寿 颐和 惠民 普济 德仁 天和 泰康 永安 春晖 松鹤 夕阳红 "
    "乐龄 怡心 百草 杏林 回春 博爱 慈航 东方 华康 健民 瑞康 祥和 明德 众康 鹤年 延年 幸福 和谐"
).split()

# Sheet column order (a realistic layout: identity, classification, place, dates, counts, flags).
HEADER_KEYS = [
    "name",
    "credit_code",
    "family",
    "type",
    "ownership",
    "grade",
    "region",
    "address",
    "longitude",
    "latitude",
    "opened_on",
    "status",
    "status_date",
    "beds_medical",
    "beds_eldercare",
    "beds_nursing",
    "doctors",
    "nurses",
    "caregivers",
    "internal_unit",
    "run_by",
    *[key for key, _label in enums.FLAGS],
]
assert set(HEADER_KEYS) == set(CANONICAL), set(CANONICAL) ^ set(HEADER_KEYS)
HEADERS = [CANONICAL[k] for k in HEADER_KEYS]

# (type, weight, at township level?) -- village clinics and clinics dominate, as in the county.
MEDICAL_TYPES = [
    (enums.MedicalType.VILLAGE_CLINIC, 40, False),
    (enums.MedicalType.CLINIC, 28, False),
    (enums.MedicalType.CHS, 10, False),
    (enums.MedicalType.OUTPATIENT_DEPT, 8, False),
    (enums.MedicalType.TOWNSHIP_HC, 4, True),
    (enums.MedicalType.CHC, 3, True),
    (enums.MedicalType.GENERAL_HOSPITAL, 2, True),
    (enums.MedicalType.TCM_HOSPITAL, 1, True),
    (enums.MedicalType.SPECIALTY_HOSPITAL, 1, True),
    (enums.MedicalType.REHAB_HOSPITAL, 1, True),
    (enums.MedicalType.NURSING_HOME_MEDICAL, 1, True),
    (enums.MedicalType.HOSPICE, 0.5, True),
    (enums.MedicalType.PUBLIC_HEALTH, 0.5, True),
]
ELDERCARE_TYPES = [
    (enums.EldercareType.RURAL_HAPPINESS_HOME, 35, False),
    (enums.EldercareType.DAY_CARE, 30, False),
    (enums.EldercareType.COMMUNITY_CENTER, 15, True),
    (enums.EldercareType.ELDER_HOME, 15, True),
    (enums.EldercareType.CARE_HOME, 5, True),
]
HOSPITALS = {
    enums.MedicalType.GENERAL_HOSPITAL,
    enums.MedicalType.TCM_HOSPITAL,
    enums.MedicalType.SPECIALTY_HOSPITAL,
    enums.MedicalType.REHAB_HOSPITAL,
}
MEDICAL_BEDS = {  # (min, max) approved medical beds
    enums.MedicalType.GENERAL_HOSPITAL: (150, 900),
    enums.MedicalType.TCM_HOSPITAL: (80, 500),
    enums.MedicalType.SPECIALTY_HOSPITAL: (30, 300),
    enums.MedicalType.REHAB_HOSPITAL: (40, 200),
    enums.MedicalType.NURSING_HOME_MEDICAL: (50, 200),
    enums.MedicalType.HOSPICE: (10, 40),
    enums.MedicalType.TOWNSHIP_HC: (20, 120),
    enums.MedicalType.CHC: (0, 50),
}
RESIDENTIAL_BEDS = {
    enums.EldercareType.ELDER_HOME: (30, 400),
    enums.EldercareType.CARE_HOME: (60, 600),
    enums.EldercareType.COMMUNITY_CENTER: (10, 80),
}
CODE_MULT = 16_180_339_887_499  # not a multiple of 31 (see Generator.credit_code)
assert CODE_MULT % 31
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
_TYPE_LABEL = dict(enums.INSTITUTION_TYPES)
_FAMILY_LABEL = dict(enums.Family.choices)
_STATUS_LABEL = dict(enums.Status.choices)
_UNIT_LABEL = dict(enums.InternalUnit.choices)


def county_name(prefix: str) -> str:
    return "周村区" if prefix == "370306" else f"基准{prefix}区"


def region_tree(prefix: str = "370306") -> list[tuple[str, str, str | None]]:
    """[(code, name, parent code)], parents first: province, city, county, 9 townships × 30
    villages. The codes every generated row uses are the townships' and villages'."""
    province, city, county = f"{prefix[:2]}0000000000", f"{prefix[:4]}00000000", f"{prefix}000000"
    rows = [(province, "基准省", None), (city, "基准市", province), (county, county_name(prefix), city)]
    for t in range(1, TOWNSHIPS + 1):
        township = f"{prefix}{t:03d}000"
        rows.append((township, _TOWNSHIP_NAMES[(t - 1) % len(_TOWNSHIP_NAMES)], county))
        street = t <= 5
        for v in range(1, VILLAGES_PER_TOWNSHIP + 1):
            stem = _VILLAGE_STEMS[(t * 7 + v) % len(_VILLAGE_STEMS)]
            rows.append((f"{prefix}{t:03d}{v:03d}", f"{stem}{'社区' if street else '村'}", township))
    return rows


def _weighted(table):
    return [t for t, _w, _lvl in table], [w for _t, w, _lvl in table], {t: lvl for t, _w, lvl in table}


class Generator:
    def __init__(self, seed: int, prefix: str):
        self.rng = random.Random(seed)
        self.prefix = prefix
        tree = region_tree(prefix)
        self.names = {code: name for code, name, _p in tree}
        self.townships = [code for code, _n, _p in tree if code.startswith(prefix) and code.endswith("000")]
        self.townships = [c for c in self.townships if c != f"{prefix}000000"]
        self.villages = {t: [c for c, _n, p in tree if p == t] for t in self.townships}
        self.med = _weighted(MEDICAL_TYPES)
        self.eld = _weighted(ELDERCARE_TYPES)
        # Credit code bodies: i -> (i * CODE_MULT + offset) mod 31^9 is a bijection (CODE_MULT is
        # not a multiple of 31), so every row gets a different 9-character organisation code.
        self.code_offset = self.rng.randrange(31**9)
        self.used_names: set[str] = set()

    # --- cell renderings -------------------------------------------------------------------
    def count(self, n: int | None, unit: str) -> object:
        """An integer as staff type it: a number, "120张", full-width "１２０" (or blank)."""
        if n is None:
            return ""
        r = self.rng.random()
        if r < 0.6:
            return n
        if r < 0.85:
            return f"{n}{unit}"
        if r < 0.95:
            return str(n).translate(FULL_WIDTH)
        return f"{n:,}" if n >= 1000 else f" {n} "

    def date_cell(self, d: datetime.date) -> str:
        r = self.rng.random()
        if r < 0.5:
            return d.isoformat()
        text = f"{d.year}年{d.month}月{d.day}日"
        return text.translate(FULL_WIDTH) if r > 0.95 else text

    def flag(self, p_yes: float) -> str:
        r = self.rng.random()
        if r < 0.15:
            return ""
        if r < 0.15 + p_yes * 0.85:
            return "是" if self.rng.random() < 0.9 else "有"
        return "否" if self.rng.random() < 0.9 else "无"

    def credit_code(self, i: int, head: str) -> str:
        n = (i * CODE_MULT + self.code_offset) % 31**9
        body = []
        for _ in range(9):
            n, d = divmod(n, 31)
            body.append(ALPHABET[d])
        first17 = f"{head}{self.prefix}{''.join(reversed(body))}"
        return first17 + check_character(first17)

    def unique_name(self, base: str) -> str:
        name, n = base, 1
        while name in self.used_names:
            n += 1
            name = f"{base}（{n}）" if n < 4 else f"{base}第{n}分部"
        self.used_names.add(name)
        return name

    # --- one row ---------------------------------------------------------------------------
    def row(self, i: int) -> list:
        rng = self.rng
        medical = rng.random() < 0.8
        types, weights, township_level = self.med if medical else self.eld
        kind = rng.choices(types, weights)[0]
        township = rng.choice(self.townships)
        region = township if township_level[kind] else rng.choice(self.villages[township])
        place = self.names[township] + ("" if region == township else self.names[region])
        label = _TYPE_LABEL[kind]

        if kind in (enums.MedicalType.VILLAGE_CLINIC, enums.MedicalType.TOWNSHIP_HC):
            base = f"{county_name(self.prefix)}{place}{label}"
        elif kind in HOSPITALS:
            base = f"{county_name(self.prefix)}{rng.choice(_BRANDS)}{label}"
        else:
            base = f"{place}{rng.choice(_BRANDS)}{label}"
        name = self.unique_name(base)
        if rng.random() < 0.01:
            name = f" {name} "  # stray spaces, trimmed by the parser

        cells: dict[str, object] = dict.fromkeys(HEADER_KEYS, "")
        cells["name"] = name
        cells["family"] = _FAMILY_LABEL[enums.Family.MEDICAL if medical else enums.Family.ELDERCARE]
        cells["type"] = "敬老院" if kind == enums.EldercareType.ELDER_HOME and rng.random() < 0.2 else label
        cells["region"] = region
        cells["address"] = f"{county_name(self.prefix)}{place}{rng.randint(1, 399)}号"
        if rng.random() < 0.7:
            cells["longitude"] = f"{117.80 + rng.random() * 0.15:.6f}"
            cells["latitude"] = f"{36.73 + rng.random() * 0.12:.6f}"
        opened = datetime.date(1985, 1, 1) + datetime.timedelta(days=rng.randrange(14_000))
        if rng.random() < 0.9:
            cells["opened_on"] = self.date_cell(opened)
        status = rng.choices(list(_STATUS_LABEL), [3, 90, 5, 2])[0]
        cells["status"] = _STATUS_LABEL[status] if rng.random() < 0.95 or status != "operating" else ""
        if status in ("suspended", "closed"):
            cells["status_date"] = self.date_cell(opened + datetime.timedelta(days=rng.randrange(30, 3000)))

        if medical:
            public = kind in HOSPITALS or kind in (enums.MedicalType.TOWNSHIP_HC, enums.MedicalType.CHC)
            public = rng.random() < (0.8 if public else 0.3)
            head = "12" if public else rng.choice(("52", "92", "91"))
            cells["ownership"] = "公立" if public else "社会办"
            if kind in HOSPITALS or kind == enums.MedicalType.TOWNSHIP_HC:
                cells["grade"] = rng.choice(("二级甲等", "二甲", "一级", "一级甲等", "未定级", "三级乙等"))
            lo_hi = MEDICAL_BEDS.get(kind)
            beds = rng.randint(*lo_hi) if lo_hi else None
            cells["beds_medical"] = self.count(beds, "张")
            doctors = max(1, (beds or 3) // 3 + rng.randint(0, 5))
            cells["doctors"] = self.count(doctors, "人")
            cells["nurses"] = self.count(doctors + rng.randint(0, doctors + 2), "人")
            for key, _label in enums.FLAGS:
                cells[key] = self.flag(0.6 if kind in HOSPITALS else 0.25)
        else:
            ownership = rng.choice(("公办公营", "公建民营", "民办", "民营"))
            head = "12" if ownership == "公办公营" else "52"
            cells["ownership"] = ownership
            lo_hi = RESIDENTIAL_BEDS.get(kind)
            if lo_hi:
                beds = rng.randint(*lo_hi)
                cells["beds_eldercare"] = self.count(beds, "张")
                cells["beds_nursing"] = self.count(rng.randint(0, beds), "张")  # <= approved beds
                cells["caregivers"] = self.count(max(2, beds // 8), "人")
                cells["nurses"] = self.count(rng.randint(0, 6), "人")
                cells["internal_unit"] = _UNIT_LABEL[
                    rng.choice(("none", "none", "infirmary", "nursing_station", "clinic"))
                ]
            elif rng.random() < 0.5:
                cells["beds_eldercare"] = self.count(rng.randint(0, 20), "张")
                cells["caregivers"] = self.count(rng.randint(1, 4), "人")
            for key in ("medical_insurance", "ltc_insurance", "family_bed"):
                cells[key] = self.flag(0.3)
        cells["credit_code"] = self.credit_code(i, head)
        return [cells[k] for k in HEADER_KEYS]


def preamble(prefix: str) -> list[list[str]]:
    county = county_name(prefix)
    return [
        [f"{county}医疗卫生和养老服务机构基本情况统计表"],
        [f"填报单位：{county}卫生健康局  填报日期：2026年11月20日"],
        HEADERS,
    ]


def generate_rows(n: int, seed: int = 1, prefix: str = "370306"):
    """Yield the preamble rows (title, 填报 line, header), then n data rows."""
    gen = Generator(seed, prefix)
    yield from preamble(prefix)
    for i in range(n):
        yield gen.row(i)


def write(n: int, out: Path, *, seed: int = 1, prefix: str = "370306") -> None:
    rows = generate_rows(n, seed, prefix)
    if out.suffix.lower() == ".csv":
        with out.open("w", encoding="utf-8-sig", newline="") as fh:  # Excel's "CSV UTF-8"
            csv.writer(fh).writerows(rows)
    elif out.suffix.lower() == ".xlsx":
        from openpyxl import Workbook

        wb = Workbook(write_only=True)
        ws = wb.create_sheet("机构基本情况")
        # Credit and region codes are written as strings (text cells), never numbers.
        for row in rows:
            ws.append(row)
        wb.save(out)
    else:
        sys.exit(f"unsupported output {out.name!r}: use .xlsx or .csv")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("n", type=int, help="number of data rows")
    parser.add_argument("out", type=Path, help="OUT.xlsx or OUT.csv")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--region-prefix", default="370306", help="6-digit county code")
    args = parser.parse_args(argv)
    if len(args.region_prefix) != 6 or not args.region_prefix.isdigit():
        parser.error("--region-prefix must be a 6-digit county code")
    started = time.perf_counter()
    write(args.n, args.out, seed=args.seed, prefix=args.region_prefix)
    print(
        f"wrote {args.n:,} rows to {args.out} ({args.out.stat().st_size / 1e6:.1f} MB) "
        f"in {time.perf_counter() - started:.1f} s"
    )


if __name__ == "__main__":
    main()
