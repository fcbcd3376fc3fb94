"""Synthetic registry, contracts, township reports and targets for the report benchmark (issue 7).

    .venv/bin/python bench/gen_reports.py county   --database-url postgres://postgres@127.0.0.1:5432/eldercare_bench_reports
    .venv/bin/python bench/gen_reports.py province --database-url … [--seed 7] [--year 2025] [--keep]

Two scales (DOMAIN.md §2 codes: province 2 + city 2 + county 2 + township 3 + village 3):

  county    1 province (41), 1 city, 1 county, 20 townships, 8–12 villages each,
            500 institutions, ~150 contracts
  province  1 province (37), 10 cities, 100 counties, 2,000 townships, ~20,000 villages,
            50,000 institutions (500 per county), ~15,000 contracts

Each county gets the same mix: 80 % medical (village clinics and clinics dominate; township
health centres, community health centres and hospitals at township level) and 20 % elder care
(rural happiness homes, day care, community centres, elder homes, care homes), public/private
ownership by type, beds by type, tri-state service flags with about 15 % 未填报 (NULL), some
homes without an internal unit and some run by a township health centre (医中办养).

History: `--year` Y (default: last year) is the last of five years Y-4 … Y. Every institution
has effective-dated versions in institutions_institutionversion that never overlap ([valid_from,
valid_to), the last one open): institutions opened before the window start on their opening
day (or the registry's load day when 成立日期 is unknown); about 15 % open inside the window,
half of them with a 筹建中 version first; inside the window: closures, suspensions (some
reopened), bed changes (with staff), internal units added, ownership reforms (公建民营), flags
filled in or switched on. The current copy in institutions_institution is the last version.
Contracts (medical party: a township health centre / community health centre / hospital of the
county, preferably the same township) start from Y-5 on, run 1–3 years, 40 % renewed, ~12 %
terminated early. Township reports exist for the five years, mostly accepted (a few draft,
submitted or reopened with a changed value), and a few targets at the top region, some counties
and some townships, superseded in Y-2.

Writing: the rows are generated in Python (seeded, deterministic) and written with COPY through
psycopg2 — never the ORM — with explicit ids (sequences set afterwards), then ANALYZE. The
target database must already be migrated (report_bench.py migrates); by default the tables the
generator writes are TRUNCATEd first (… CASCADE: scratch databases only — the name must contain
"bench"). No Django settings are needed: only institutions.enums and institutions.credit_code.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import io
import json
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from institutions import enums  # noqa: E402
from institutions.credit_code import ALPHABET, check_character  # noqa: E402

MT, ET = enums.MedicalType, enums.EldercareType


@dataclass(frozen=True)
class Scale:
    name: str
    province: str  # 2 digits
    cities: int
    counties_per_city: int
    townships_per_county: int
    villages: tuple[int, int]  # per township, inclusive range
    institutions_per_county: int
    homes_with_contracts_per_county: int  # each gets a chain of 1–3 contracts

    @property
    def root(self) -> str:
        return f"{self.province}0000000000"

    @property
    def counties(self) -> list[str]:
        return [
            f"{self.province}{c:02d}{k:02d}000000"
            for c in range(1, self.cities + 1)
            for k in range(1, self.counties_per_city + 1)
        ]


SCALES = {
    "county": Scale("county", "41", 1, 1, 20, (8, 12), 500, 95),
    "province": Scale("province", "37", 10, 10, 20, (8, 12), 500, 95),
}

# (type, weight, at township level) — as bench/gen_institutions.py.
MEDICAL_TYPES = [
    (MT.VILLAGE_CLINIC, 40, False),
    (MT.CLINIC, 28, False),
    (MT.CHS, 10, False),
    (MT.OUTPATIENT_DEPT, 8, False),
    (MT.TOWNSHIP_HC, 4, True),
    (MT.CHC, 3, True),
    (MT.GENERAL_HOSPITAL, 2, True),
    (MT.TCM_HOSPITAL, 1, True),
    (MT.SPECIALTY_HOSPITAL, 1, True),
    (MT.REHAB_HOSPITAL, 1, True),
    (MT.NURSING_HOME_MEDICAL, 1, True),
    (MT.HOSPICE, 0.5, True),
    (MT.PUBLIC_HEALTH, 0.5, True),
]
ELDERCARE_TYPES = [
    (ET.RURAL_HAPPINESS_HOME, 35, False),
    (ET.DAY_CARE, 30, False),
    (ET.COMMUNITY_CENTER, 15, True),
    (ET.ELDER_HOME, 15, True),
    (ET.CARE_HOME, 5, True),
]
HOSPITALS = {MT.GENERAL_HOSPITAL, MT.TCM_HOSPITAL, MT.SPECIALTY_HOSPITAL, MT.REHAB_HOSPITAL}
CONTRACT_PARTNERS = {MT.TOWNSHIP_HC, MT.CHC, MT.GENERAL_HOSPITAL, MT.TCM_HOSPITAL, MT.REHAB_HOSPITAL}
MEDICAL_BEDS = {
    MT.GENERAL_HOSPITAL: (150, 900),
    MT.TCM_HOSPITAL: (80, 500),
    MT.SPECIALTY_HOSPITAL: (30, 300),
    MT.REHAB_HOSPITAL: (40, 200),
    MT.NURSING_HOME_MEDICAL: (50, 200),
    MT.HOSPICE: (10, 40),
    MT.TOWNSHIP_HC: (20, 120),
    MT.CHC: (0, 50),
}
RESIDENTIAL_BEDS = {ET.ELDER_HOME: (30, 400), ET.CARE_HOME: (60, 600), ET.COMMUNITY_CENTER: (10, 80)}
FLAG_KEYS = [key for key, _label in enums.FLAGS]
ELDERCARE_FLAGS = ("medical_insurance", "ltc_insurance", "family_bed")  # the flags homes report
CODELESS = {MT.VILLAGE_CLINIC, ET.RURAL_HAPPINESS_HOME}
_TYPE_LABEL = dict(enums.INSTITUTION_TYPES)
_TOWNSHIP_STEMS = "城关 东关 西关 南关 北关 新城 长安 太平 永宁 安乐 兴隆 和平 宝山 清河 龙泉 白马 青石 黄土 柳林 桃园 杏花 凤凰 金山 银河".split()
_VILLAGE_STEMS = (
    "李家 王家 张家 刘家 孙家 赵家 高家 徐家 马家 吕家 郭家 石家 韩家 彭家 杜家 黄家 田家 宋家 "
    "东坡 西坡 南河 北河 小庄 大庄 前营 后营 柳行 桑园 杏林 梨园 荆山 凤山 泉头 石桥 安仁 崔军"
).split()
_BRANDS = "仁和 康宁 济生 同仁 益寿 福康 安康 长寿 颐和 惠民 普济 德仁 天和 泰康 永安 春晖 松鹤 夕阳红 乐龄 怡心".split()
MODES = [("agreement", 60), ("alliance", 15), ("entrusted", 10), ("outsourced", 8), ("co_built", 7)]
SERVICES = ["visits", "checkup", "education", "green_channel", "referral", "emergency", "telemedicine", "tcm"]
FREQUENCIES = ["weekly", "monthly", "monthly", "quarterly", "half_yearly"]
# Targets (indicator, value in Y-4, value from Y-2) set at the top region.
TOP_TARGETS = [
    ("YL_MED_COVERAGE", 90, 100),
    ("GOV_YL_MED_COVERAGE", 80, 100),
    ("GREEN_CHANNEL_RATE", 60, 80),
    ("FAMILY_BED_RATE", 20, 30),
    ("BIG_YL_MED_UNIT_RATE", 80, 100),
    ("GERIATRIC_DEPT_RATE", 30, 50),
    ("NURSING_BED_SHARE", 30, 55),
    ("FD_SIGNING_RATE", 40, 65),
    ("HEALTH_MGMT_RATE", 60, 70),
    ("VILLAGE_CENTER_RATE", 50, 70),
    ("SATISFACTION", 85, 90),
]

INSTITUTION_FACTS = [
    "name", "type", "region_id", "ownership", "grade", "grade_class", "address", "longitude",
    "latitude", "opened_on", "status", "status_date", "beds_medical", "beds_eldercare",
    "beds_nursing", "doctors", "nurses", "caregivers", "internal_unit", "run_by_id", *FLAG_KEYS,
]  # fmt: skip
INSTITUTION_COLUMNS = [
    "id", *INSTITUTION_FACTS, "portal_no", "family", "credit_code", "credit_code_warning",
    "warning_codes", "created_at", "updated_at",
]  # fmt: skip
VERSION_COLUMNS = [
    "id", "institution_id", *INSTITUTION_FACTS, "valid_from", "valid_to", "changed", "recorded_at",
]  # fmt: skip
# The tables written (and emptied first unless --keep), children before parents.
TABLES = [
    "assessments_reportrow",
    "assessments_reportfact",
    "assessments_reportslice",
    "assessments_reportrun",
    "assessments_recomputerequest",
    "assessments_target",
    "assessments_townshipreport",
    "contracts_visit",
    "contracts_contract",
    "institutions_institutionversion",
    "institutions_institution",
    "regions_region",
]
NULL = r"\N"


def _cell(value):
    if value is None:
        return NULL
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def _add_years(day: datetime.date, years: int) -> datetime.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


class Copier:
    """Rows buffered as CSV and sent with COPY … FROM STDIN in chunks."""

    def __init__(self, cur, table: str, columns: list[str], chunk: int = 20_000):
        self.cur, self.table, self.columns, self.chunk = cur, table, columns, chunk
        self.buf = io.StringIO()
        self.writer = csv.writer(self.buf)
        self.pending = 0
        self.total = 0

    def add(self, row) -> None:
        self.writer.writerow([_cell(v) for v in row])
        self.pending += 1
        if self.pending >= self.chunk:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        self.buf.seek(0)
        cols = ", ".join(f'"{c}"' for c in self.columns)
        self.cur.copy_expert(f"COPY {self.table} ({cols}) FROM STDIN WITH (FORMAT csv, NULL '\\N')", self.buf)
        self.total += self.pending
        self.buf = io.StringIO()
        self.writer = csv.writer(self.buf)
        self.pending = 0


def _day_in(rng: random.Random, year: int) -> datetime.date:
    return datetime.date(year, 1, 1) + datetime.timedelta(days=rng.randrange(365))


class CountyGenerator:
    """One county's institutions, history, contracts, reports; ids come from shared counters."""

    def __init__(self, gen: Generator, county: str, index: int):
        self.g = gen
        self.county = county
        self.rng = random.Random(gen.seed * 100_003 + index)
        self.index = index

    # --- regions -------------------------------------------------------------------------
    def regions(self) -> tuple[list[str], dict[str, list[str]]]:
        g, rng = self.g, self.rng
        c6 = self.county[:6]
        townships, villages = [], {}
        g.region(self.county, f"基准县{c6[2:]}", 3, f"{c6[:4]}00000000")
        for t in range(1, g.scale.townships_per_county + 1):
            code = f"{c6}{t:03d}000"
            street = t <= 4
            stem = _TOWNSHIP_STEMS[(t - 1 + self.index) % len(_TOWNSHIP_STEMS)]
            g.region(code, f"{stem}{'街道' if street else '镇'}", 4, self.county)
            townships.append(code)
            villages[code] = []
            for v in range(1, rng.randint(*g.scale.villages) + 1):
                vcode = f"{code[:9]}{v:03d}"
                vstem = _VILLAGE_STEMS[(t * 7 + v) % len(_VILLAGE_STEMS)]
                g.region(vcode, f"{vstem}{'社区' if street else '村'}", 5, code)
                villages[code].append(vcode)
        return townships, villages

    # --- institutions --------------------------------------------------------------------
    def base_facts(self, family: str, kind: str, region: str, township: str) -> dict:
        rng = self.rng
        f: dict = dict.fromkeys(INSTITUTION_FACTS)
        f.update(type=kind, region_id=region, grade="", grade_class="", internal_unit="", status="operating")
        tname = self.g.names[township]
        label = _TYPE_LABEL[kind]
        if family == "medical":
            public = rng.random() < (0.8 if kind in HOSPITALS or kind in (MT.TOWNSHIP_HC, MT.CHC) else 0.3)
            f["ownership"] = "public" if public else "private"
            if kind in HOSPITALS or kind == MT.TOWNSHIP_HC:
                f["grade"] = rng.choices(["1", "2", "3", "none"], [4, 4, 1, 2])[0]
                if f["grade"] in ("2", "3"):
                    f["grade_class"] = rng.choice("AB")
            lo_hi = MEDICAL_BEDS.get(kind)
            f["beds_medical"] = rng.randint(*lo_hi) if lo_hi else None
            f["doctors"] = max(1, (f["beds_medical"] or 3) // 3 + rng.randint(0, 5))
            f["nurses"] = f["doctors"] + rng.randint(0, f["doctors"] + 2)
            p_yes = 0.6 if kind in HOSPITALS else 0.25
            for key in FLAG_KEYS:
                r = rng.random()
                p = p_yes if key != "hospice" else (0.3 if kind in HOSPITALS else 0.03)
                f[key] = None if r < 0.15 else rng.random() < p
            if kind == MT.HOSPICE:
                f["hospice"] = True
            base = (
                f"基准{self.county[2:6]}{rng.choice(_BRANDS)}{label}"
                if kind in HOSPITALS
                else f"{tname}{label}"
            )
        else:
            f["ownership"] = rng.choices(["public", "public_private", "private"], [40, 20, 40])[0]
            lo_hi = RESIDENTIAL_BEDS.get(kind)
            if lo_hi:
                beds = rng.randint(*lo_hi)
                f["beds_eldercare"] = None if rng.random() < 0.05 else beds
                f["beds_nursing"] = None if rng.random() < 0.10 else rng.randint(0, beds)
                f["caregivers"] = max(2, beds // 8)
                f["nurses"] = rng.randint(0, 6)
                f["doctors"] = rng.choice([0, 0, 0, 1, 2])
                f["internal_unit"] = rng.choice(
                    ["none", "none", "none", "", "infirmary", "nursing_station", "clinic"]
                )
            elif rng.random() < 0.5:
                f["beds_eldercare"] = rng.randint(0, 20)
                f["caregivers"] = rng.randint(1, 4)
            for key in ELDERCARE_FLAGS:
                r = rng.random()
                f[key] = None if r < 0.15 else rng.random() < 0.3
            base = f"{tname}{rng.choice(_BRANDS)}{label}"
        f["name"] = self.g.unique_name(base, region)
        f["address"] = f"{self.g.names[self.county]}{tname}{rng.randint(1, 399)}号"
        if rng.random() < 0.7:
            f["longitude"] = f"{110 + rng.random() * 10:.6f}"
            f["latitude"] = f"{30 + rng.random() * 8:.6f}"
        return f

    def events(self, family: str, facts: dict, first: datetime.date) -> list[tuple[datetime.date, dict]]:
        """Changes inside the window, on distinct days after `first`, in date order."""
        rng, y0, y1 = self.rng, self.g.first_year, self.g.last_year
        out: dict[datetime.date, dict] = {}
        state = dict(facts)
        residential = state["type"] in RESIDENTIAL_BEDS
        for year in range(max(y0, first.year), y1 + 1):
            if state["status"] == "closed":
                break
            todo = []
            r = rng.random()
            if state["status"] == "suspended":
                if rng.random() < 0.5:
                    todo.append({"status": "operating", "status_date": None})
            elif r < 0.015:
                todo.append({"status": "closed", "status_date": None})
            elif r < 0.025:
                todo.append({"status": "suspended", "status_date": None})
            beds_key = "beds_eldercare" if family == "eldercare" else "beds_medical"
            if state.get(beds_key) and rng.random() < 0.15:
                beds = max(1, int(state[beds_key] * rng.uniform(0.85, 1.35)))
                change = {beds_key: beds}
                if family == "eldercare":
                    if state.get("beds_nursing") is not None:
                        change["beds_nursing"] = min(beds, int(state["beds_nursing"] * rng.uniform(1.0, 1.5)))
                    change["caregivers"] = max(2, beds // 8)
                else:
                    change["doctors"] = max(1, beds // 3 + rng.randint(0, 5))
                    change["nurses"] = change["doctors"] + rng.randint(0, change["doctors"] + 2)
                todo.append(change)
            if residential and state["internal_unit"] in ("", "none") and rng.random() < 0.08:
                todo.append({"internal_unit": rng.choice(["infirmary", "nursing_station"])})
            if family == "eldercare" and state["ownership"] == "public" and rng.random() < 0.03:
                todo.append({"ownership": "public_private"})
            for key in FLAG_KEYS if family == "medical" else ELDERCARE_FLAGS:
                if state.get(key) is None and rng.random() < 0.2:  # 未填报 filled in
                    todo.append({key: rng.random() < 0.4})
            if family == "medical" and state.get("green_channel") is False and rng.random() < 0.1:
                todo.append({"green_channel": True})
            for change in todo:
                day = _day_in(rng, year)
                while day in out:
                    day += datetime.timedelta(days=1)
                if day <= first or day.year > y1:
                    continue
                out[day] = change
                state.update(change)
        events = sorted(out.items())
        # A status change dates itself; nothing is changed after a closure.
        cleaned, closed = [], False
        for day, change in events:
            if closed:
                break
            change = dict(change)
            if "status" in change:
                change["status_date"] = day
                closed = change["status"] == "closed"
            cleaned.append((day, change))
        return cleaned

    def institutions(self, townships, villages):
        g, rng = self.g, self.rng
        n = g.scale.institutions_per_county
        n_eld = round(n * 0.2)
        med_types, med_weights = [t for t, _w, _l in MEDICAL_TYPES], [w for _t, w, _l in MEDICAL_TYPES]
        eld_types, eld_weights = [t for t, _w, _l in ELDERCARE_TYPES], [w for _t, w, _l in ELDERCARE_TYPES]
        kinds = [("medical", k) for k in rng.choices(med_types, med_weights, k=n - n_eld)]
        kinds += [("eldercare", k) for k in rng.choices(eld_types, eld_weights, k=n_eld)]
        at_township = {t: lvl for t, _w, lvl in MEDICAL_TYPES + ELDERCARE_TYPES}
        load_day = datetime.date(g.first_year - 1, 6, 30)  # the registry's first load
        made = []
        for family, kind in kinds:
            township = rng.choice(townships)
            region = township if at_township[kind] else rng.choice(villages[township])
            facts = self.base_facts(family, kind, region, township)
            inst_id = g.next_id("institution")
            r = rng.random()
            spans: list[tuple[datetime.date, dict, list[str]]] = []
            if r < 0.15:  # opened inside the window
                opened = _day_in(rng, rng.randint(g.first_year, g.last_year))
                facts["opened_on"] = opened
                if rng.random() < 0.5:
                    planned = opened - datetime.timedelta(days=rng.randint(60, 300))
                    spans.append(
                        (planned, {**facts, "status": "planned", "status_date": planned}, ["created"])
                    )
                    spans.append((opened, dict(facts), ["status", "status_date"]))
                    facts["status_date"] = opened
                    spans[-1][1]["status_date"] = opened
                else:
                    spans.append((opened, dict(facts), ["created"]))
            else:
                known = rng.random() < 0.9
                opened = datetime.date(1985, 1, 1) + datetime.timedelta(days=rng.randrange(12_500))
                facts["opened_on"] = opened if known else None
                start = opened if known else load_day
                if rng.random() < 0.03:  # closed or suspended before the window
                    facts["status"] = rng.choice(["closed", "suspended"])
                    facts["status_date"] = start + datetime.timedelta(days=rng.randint(30, 2000))
                    facts["status_date"] = min(facts["status_date"], datetime.date(g.first_year - 1, 12, 1))
                    if facts["status_date"] <= start:
                        facts["status_date"] = start + datetime.timedelta(days=1)
                    spans.append((start, {**facts, "status": "operating", "status_date": None}, ["created"]))
                    spans.append((facts["status_date"], dict(facts), ["status", "status_date"]))
                else:
                    spans.append((start, dict(facts), ["created"]))
            current = dict(spans[-1][1])
            for day, change in self.events(family, current, spans[-1][0]):
                current = {**current, **change}
                spans.append((day, dict(current), sorted(change)))
            made.append((inst_id, family, kind, township, spans))
        # 医中办养: a few residential homes run by their township's health centre.
        hcs = {}
        for inst_id, _family, kind, township, _spans in made:
            if kind == MT.TOWNSHIP_HC:
                hcs.setdefault(township, inst_id)
        for _inst_id, _family, kind, township, spans in made:
            if kind in (ET.ELDER_HOME, ET.CARE_HOME) and township in hcs and rng.random() < 0.08:
                for _day, facts, _changed in spans:
                    facts["run_by_id"] = hcs[township]
        return made

    def write_institutions(self, made) -> None:
        g = self.g
        for inst_id, family, kind, _township, spans in made:
            last = spans[-1][1]
            code = "" if kind in CODELESS else g.credit_code(inst_id, family, last["ownership"], self.county)
            g.inst.add(
                [
                    inst_id,
                    *[last[c] for c in INSTITUTION_FACTS],
                    f"JG{inst_id:08d}",
                    family,
                    code,
                    "",
                    "",
                    g.now,
                    g.now,
                ]
            )
            for i, (day, facts, changed) in enumerate(spans):
                valid_to = spans[i + 1][0] if i + 1 < len(spans) else None
                g.ver.add(
                    [g.next_id("version"), inst_id, *[facts[c] for c in INSTITUTION_FACTS], day, valid_to,
                     json.dumps(changed), g.now]
                )  # fmt: skip

    # --- contracts -----------------------------------------------------------------------
    def contracts(self, made) -> None:
        g, rng = self.g, self.rng
        homes = [
            (i, t)
            for i, fam, _k, t, spans in made
            if fam == "eldercare" and spans[-1][1]["status"] != "planned"
        ]
        partners: dict[str, list[int]] = {}
        county_partners = []
        for inst_id, _fam, kind, township, _spans in made:
            if kind in CONTRACT_PARTNERS:
                partners.setdefault(township, []).append(inst_id)
                county_partners.append(inst_id)
        if not homes or not county_partners:
            return
        chosen = rng.sample(homes, min(len(homes), g.scale.homes_with_contracts_per_county))
        modes, weights = [m for m, _w in MODES], [w for _m, w in MODES]
        for home, township in chosen:
            medical = rng.choice(partners.get(township) or county_partners)
            start = datetime.date(g.first_year - 1, 7, 1) + datetime.timedelta(days=rng.randrange(5 * 365))
            for _ in range(rng.choices([1, 2, 3], [45, 35, 20])[0]):
                if start.year > g.last_year:
                    break
                years = rng.choice([1, 1, 2, 3])
                end = _add_years(start, years) - datetime.timedelta(days=1)
                terminated = None
                if rng.random() < 0.12:
                    terminated = start + datetime.timedelta(days=rng.randint(30, (end - start).days))
                filed = start + datetime.timedelta(days=rng.randint(3, 40)) if rng.random() < 0.5 else None
                cid = g.next_id("contract")
                g.con.add(
                    [cid, f"YYQY-{self.county[:6]}-{cid:06d}", rng.choices(modes, weights)[0],
                     json.dumps(rng.sample(SERVICES, rng.randint(2, 5))), rng.choice(FREQUENCIES), start, end,
                     terminated, "协议双方协商一致提前终止" if terminated else "", filed, None, g.now, g.now,
                     None, home, medical]
                )  # fmt: skip
                if terminated:
                    break
                start = end + datetime.timedelta(days=1)

    # --- township reports and targets ----------------------------------------------------
    def reports(self, townships, villages) -> None:
        g, rng = self.g, self.rng
        for t in townships:
            pop60 = rng.randint(3000, 15000)
            for year in range(g.first_year, g.last_year + 1):
                pop60 = int(pop60 * rng.uniform(1.0, 1.04))
                pop65 = int(pop60 * rng.uniform(0.65, 0.75))
                nv = len(villages[t])
                values = {
                    "pop60": pop60,
                    "fd_signed60": int(pop60 * rng.uniform(0.3, 0.8)),
                    "pop65": pop65,
                    "health_managed65": int(pop65 * rng.uniform(0.5, 0.85)),
                    "villages": nv,
                    "villages_with_center": rng.randint(nv // 3, nv),
                    "satisfaction": round(rng.uniform(75, 98), 1),
                }
                if rng.random() < 0.03:
                    del values["satisfaction"]
                status = rng.choices(["accepted", "reopened", "submitted", "draft"], [86, 4, 5, 5])[0]
                accepted = previous = accepted_at = submitted_at = None
                acceptances = 0
                when = datetime.datetime(year + 1, 2, 15, 9, tzinfo=datetime.UTC)
                if status in ("accepted", "reopened"):
                    accepted, accepted_at, acceptances, submitted_at = dict(values), when, 1, when
                    if status == "reopened":
                        values = {**values, "fd_signed60": values["fd_signed60"] + rng.randint(1, 200)}
                elif status == "submitted":
                    submitted_at = when
                g.rep.add(
                    [g.next_id("report"), year, json.dumps(values), status,
                     json.dumps(accepted) if accepted is not None else None,
                     json.dumps(previous) if previous is not None else None, accepted_at, submitted_at,
                     "数据更正" if status == "reopened" else "", acceptances, g.now, g.now, None, t, None]
                )  # fmt: skip

    def targets(self, townships) -> None:
        g, rng = self.g, self.rng
        if rng.random() < 0.3 or g.scale.name == "county":  # a county's own targets
            for code, v0, v1 in rng.sample(TOP_TARGETS, 4):
                g.target(code, self.county, g.first_year, v0 + 5)
                g.target(code, self.county, g.last_year - 2, min(100, v1 + 5))
        for t in rng.sample(townships, 2):  # a township's own target
            g.target("YL_MED_COVERAGE", t, g.last_year - 1, 95)


class Generator:
    def __init__(self, conn, scale: Scale, *, seed: int, last_year: int):
        self.conn, self.scale, self.seed = conn, scale, seed
        self.last_year, self.first_year = last_year, last_year - 4
        self.rng = random.Random(seed)
        self.now = datetime.datetime.now(datetime.UTC).isoformat()
        self.names: dict[str, str] = {}
        self.ids: dict[str, int] = {}
        self.used_names: set[tuple[str, str]] = set()
        self.code_offset = self.rng.randrange(31**9)
        cur = conn.cursor()
        self.cur = cur
        self.reg = Copier(
            cur,
            "regions_region",
            ["code", "name", "level", "active", "updated_at", "parent_id", "successor_id"],
        )
        self.inst = Copier(cur, "institutions_institution", INSTITUTION_COLUMNS)
        self.ver = Copier(cur, "institutions_institutionversion", VERSION_COLUMNS)
        self.con = Copier(
            cur, "contracts_contract",
            ["id", "agreement_no", "mode", "services", "visit_frequency", "start", "end", "terminated_on",
             "termination_reason", "filed_on", "expiry_notice_for", "created_at", "updated_at", "created_by_id",
             "eldercare_id", "medical_id"],
        )  # fmt: skip
        self.rep = Copier(
            cur, "assessments_townshipreport",
            ["id", "year", "values", "status", "accepted_values", "previous_accepted_values", "accepted_at",
             "submitted_at", "reopened_reason", "acceptances", "created_at", "updated_at", "accepted_by_id",
             "region_id", "submitted_by_id"],
        )  # fmt: skip
        self.tgt = Copier(
            cur, "assessments_target",
            ["id", "year", "value", "clause", "source_doc", "set_at", "indicator_id", "region_id", "set_by_id",
             "template_item_id"],
        )  # fmt: skip

    def next_id(self, kind: str) -> int:
        self.ids[kind] = self.ids.get(kind, 0) + 1
        return self.ids[kind]

    def region(self, code: str, name: str, level: int, parent: str | None) -> None:
        assert len(code) == 12, code
        self.names[code] = name
        self.reg.add([code, name, level, True, self.now, parent, None])

    def unique_name(self, base: str, region: str) -> str:
        name, n = base, 1
        while (region[:9], name) in self.used_names:
            n += 1
            name = f"{base}（{n}）" if n < 4 else f"{base}第{n}分部"
        self.used_names.add((region[:9], name))
        return name

    def credit_code(self, i: int, family: str, ownership: str, county: str) -> str:
        head = (
            ("12" if ownership == "public" else "52")
            if family == "eldercare"
            else ("12" if ownership == "public" else "92")
        )
        n = (i * 16_180_339_887_499 + self.code_offset) % 31**9
        body = []
        for _ in range(9):
            n, d = divmod(n, 31)
            body.append(ALPHABET[d])
        first17 = f"{head}{county[:6]}{''.join(reversed(body))}"
        return first17 + check_character(first17)

    def target(self, indicator: str, region: str, year: int, value) -> None:
        self.tgt.add(
            [
                self.next_id("target"),
                year,
                value,
                "基准目标（合成数据）",
                "基准文件",
                self.now,
                indicator,
                region,
                None,
                None,
            ]
        )

    def run(self) -> dict:
        s = self.scale
        self.region(s.root, "基准省" if s.name == "province" else "基准省（县规模）", 1, None)
        for c in range(1, s.cities + 1):
            self.region(f"{s.province}{c:02d}00000000", f"基准市{c:02d}", 2, s.root)
        counts = {"townships": 0}
        for index, county in enumerate(s.counties):
            cg = CountyGenerator(self, county, index)
            townships, villages = cg.regions()
            counts["townships"] += len(townships)
            made = cg.institutions(townships, villages)
            cg.write_institutions(made)
            cg.contracts(made)
            cg.reports(townships, villages)
            cg.targets(townships)
        for code, v0, v1 in TOP_TARGETS:
            self.target(code, s.root, self.first_year, v0)
            self.target(code, s.root, self.last_year - 2, v1)
        # Parents before children: regions first (the FKs are deferred anyway).
        for copier in (self.reg, self.inst, self.ver, self.con, self.rep, self.tgt):
            copier.flush()
        for table in ("institutions_institution", "institutions_institutionversion", "contracts_contract",
                      "assessments_townshipreport", "assessments_target"):  # fmt: skip
            self.cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT COALESCE(max(id), 0) + 1 FROM {table}), false)"  # noqa: S608  # nosec B608 - constant table names
            )
        return {
            "regions": self.reg.total,
            "townships": counts["townships"],
            "institutions": self.inst.total,
            "versions": self.ver.total,
            "contracts": self.con.total,
            "township_reports": self.rep.total,
            "targets": self.tgt.total,
        }


def check_database(url: str) -> None:
    parts = urlsplit(url)
    name = unquote(parts.path.lstrip("/"))
    if not parts.scheme.startswith("postgres") or "bench" not in name:
        sys.exit(f"refusing {url!r}: use a PostgreSQL database whose name contains 'bench'")


def connect(url: str):
    import psycopg2

    check_database(url)
    return psycopg2.connect(url)


def generate(
    url: str, scale: str, *, seed: int = 7, last_year: int | None = None, truncate: bool = True
) -> dict:
    """Empty the tables (unless truncate=False) and write one scale; returns the row counts."""
    last_year = last_year or datetime.date.today().year - 1
    conn = connect(url)
    t0 = time.perf_counter()
    try:
        with conn, conn.cursor() as cur:
            if truncate:
                cur.execute(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE")
            counts = Generator(conn, SCALES[scale], seed=seed, last_year=last_year).run()
        conn.autocommit = True
        with conn.cursor() as cur:
            for table in TABLES:
                cur.execute(f"VACUUM ANALYZE {table}")
    finally:
        conn.close()
    counts["seconds"] = round(time.perf_counter() - t0, 1)
    counts["years"] = f"{last_year - 4}–{last_year}"
    return counts


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scale", choices=sorted(SCALES))
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/eldercare_bench_reports"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--year", type=int, default=None, help="the last of the five years (default: last year)"
    )
    parser.add_argument("--keep", action="store_true", help="do not TRUNCATE the tables first")
    args = parser.parse_args(argv)
    counts = generate(
        args.database_url, args.scale, seed=args.seed, last_year=args.year, truncate=not args.keep
    )
    print(json.dumps(counts, ensure_ascii=False))


if __name__ == "__main__":
    main()
