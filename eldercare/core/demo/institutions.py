"""The demo county's institutions, at the scale 000_a6a1084fb0cf220e.txt reports for 周村区
(hundreds of medical institutions, mostly 村卫生室 and clinics; 14 elder-care institutions with
about 2,300 beds). Names and codes are invented; codes carry a valid GB 32100 check character."""

from __future__ import annotations

import datetime
import hashlib

from institutions.credit_code import ALPHABET, check_character

from . import regions as demo_regions


def credit_code(seed: str, dept: str = "1", cat: str = "2") -> str:
    digest = hashlib.sha256(seed.encode()).digest()
    body = "".join(ALPHABET[b % 31] for b in digest[:9])
    first17 = f"{dept}{cat}370306{body}"
    return first17 + check_character(first17)


def _towns():
    return [(f"370306{s}000", name, kind) for s, name, kind in demo_regions.TOWNSHIPS]


def medical() -> list[dict]:
    county = "370306000000"
    out = [
        dict(
            name="周村区人民医院",
            type="general_hospital",
            region=county,
            ownership="public",
            grade="2",
            grade_class="A",
            beds_medical=620,
            doctors=210,
            nurses=330,
            green_channel=True,
            geriatric_dept=True,
            rehab_dept=True,
            code_dept="1",
        ),
        dict(
            name="周村区中医医院",
            type="tcm_hospital",
            region=county,
            ownership="public",
            grade="2",
            grade_class="A",
            beds_medical=380,
            doctors=120,
            nurses=190,
            green_channel=True,
            geriatric_dept=False,
            tcm=True,
            code_dept="1",
        ),
        dict(name="周村区妇幼保健院", type="public_health", region=county, ownership="public", code_dept="1"),
        dict(
            name="周村区疾病预防控制中心",
            type="public_health",
            region=county,
            ownership="public",
            code_dept="1",
        ),
        dict(
            name="周村康复医院",
            type="rehab_hospital",
            region=county,
            ownership="private",
            grade="1",
            beds_medical=120,
            green_channel=True,
            code_dept="5",
        ),
    ]
    for code, name, kind in _towns():
        if kind == "street":
            out.append(
                dict(
                    name=f"{name}社区卫生服务中心",
                    type="chc",
                    region=code,
                    ownership="public",
                    beds_medical=30,
                    green_channel=True,
                    family_bed=True,
                    code_dept="1",
                )
            )
        else:
            out.append(
                dict(
                    name=f"{name}卫生院",
                    type="township_hc",
                    region=code,
                    ownership="public",
                    beds_medical=60,
                    green_channel=True,
                    family_bed=code.endswith("100000") is False,
                    code_dept="1",
                )
            )
        for i in range(3):
            out.append(
                dict(
                    name=f"{name}第{i + 1}诊所",
                    type="clinic",
                    region=code,
                    ownership="private",
                    green_channel=None if i == 2 else False,
                    code_dept="9",
                    code_cat="2",
                )
            )
    for code, name, _parent in demo_regions.tree():
        if len(code) == 12 and code[9:] != "000" and code[6:9] >= "100":
            # Villages of the towns: most have a 村卫生室 (often without a credit code).
            if int(code[-2:]) % 5 != 0:
                out.append(
                    dict(
                        name=f"{name}卫生室",
                        type="village_clinic",
                        region=code,
                        ownership="public",
                        green_channel=int(code[-2:]) % 3 != 0,
                        no_code=True,
                    )
                )
    return out


ELDERCARE = [
    # name, type, township suffix, ownership, beds, nursing beds, internal unit, run by (medical name)
    ("周村区社会福利中心", "elder_home", "000", "public", 320, 180, "nursing_station", None),
    ("周村区人民医院医养结合中心", "care_home", "001", "public", 260, 200, "none", "周村区人民医院"),
    ("丝绸路颐养院", "elder_home", "001", "private", 180, 90, "infirmary", None),
    ("大街街道老年公寓", "elder_home", "002", "public_private", 150, 60, "none", None),
    ("青年路康养中心", "care_home", "003", "private", 220, 150, "clinic", None),
    ("永安老年养护院", "care_home", "004", "private", 160, 120, "nursing_station", None),
    ("城北路社区养老服务中心", "community_center", "005", "public_private", 60, 20, "none", None),
    ("北郊镇敬老院", "elder_home", "100", "public", 120, 40, "none", None),
    ("南郊镇敬老院", "elder_home", "101", "public", 96, 30, "none", None),
    ("王村镇中心敬老院", "elder_home", "102", "public", 140, 50, "infirmary", None),
    ("萌水镇敬老院", "elder_home", "103", "public", 80, 20, "none", None),
    ("萌水颐和养老院", "elder_home", "103", "private", 210, 110, "nursing_station", None),
    ("南郊福寿园", "elder_home", "101", "private", 180, 90, "none", None),
    ("王村镇日间照料中心", "day_care", "102", "public", 24, 0, "none", None),
]
OPENED = datetime.date(2016, 6, 1)
