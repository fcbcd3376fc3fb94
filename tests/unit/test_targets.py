"""Target resolution (assessments/targets.py, DOMAIN.md §7): a target applies from its year until
a later one supersedes it; a region without one of its own inherits the nearest ancestor's.
Pure: no database."""

import re
from decimal import Decimal
from pathlib import Path

import pytest

from assessments.targets import Resolved, ancestors_of, resolve, resolve_many
from assessments.templates_data import TEMPLATES

PROVINCE, CITY, COUNTY = "370000000000", "370300000000", "370306000000"
TOWN, TOWN2, VILLAGE = "370306001000", "370306100000", "370306001001"
OTHER_COUNTY = "370307000000"
D = Decimal

MAP = {
    # county: 90 from 2018, superseded by 100 from 2020 (001 二(三): ≥90% 2018, 100% 2020)
    ("GREEN_CHANNEL_RATE", COUNTY): [
        (2018, D("90.00"), "冯政发〔2018〕24号", "二(三)"),
        (2020, D("100.00"), "冯政发〔2018〕24号", "二(三)"),
    ],
    # the township's own 95 from 2019 beats the county's
    ("GREEN_CHANNEL_RATE", TOWN): [(2019, D("95.00"), "", "")],
    # the city sets family-doctor signing; the township's own starts only in 2022
    ("FD_SIGNING_RATE", CITY): [(2018, D("70.00"), "冯政发〔2018〕24号", "二(三)")],
    ("FD_SIGNING_RATE", TOWN): [(2022, D("85.00"), "", "")],
    # counts: 20 institutions by 2020 (000 一)
    ("YL_INSTITUTIONS", COUNTY): [(2020, D("20"), "周政办字〔2017〕109号", "一")],
    # a target for a province reaches its villages
    ("NURSING_BED_SHARE", PROVINCE): [(2025, D("55.00"), "国发〔2021〕35号", "专栏1")],
}


def chain(code):
    return ancestors_of(code)


def test_ancestors_by_code_nearest_first():
    assert ancestors_of(VILLAGE) == (TOWN, COUNTY, CITY, PROVINCE)
    assert ancestors_of(COUNTY) == (CITY, PROVINCE)
    assert ancestors_of(PROVINCE) == ()


CASES = [
    # (case, indicator, region, year, expected (value, inherited, from region, from year) or None)
    ("own target in its year", "GREEN_CHANNEL_RATE", COUNTY, 2018, ("90.00", False, COUNTY, 2018)),
    ("carried forward", "GREEN_CHANNEL_RATE", COUNTY, 2019, ("90.00", False, COUNTY, 2018)),
    ("superseded by a later year", "GREEN_CHANNEL_RATE", COUNTY, 2020, ("100.00", False, COUNTY, 2020)),
    ("superseded, carried forward", "GREEN_CHANNEL_RATE", COUNTY, 2026, ("100.00", False, COUNTY, 2020)),
    ("before any target year", "GREEN_CHANNEL_RATE", COUNTY, 2017, None),
    ("inherited from the parent", "GREEN_CHANNEL_RATE", TOWN2, 2020, ("100.00", True, COUNTY, 2020)),
    (
        "inherited from the grandparent",
        "GREEN_CHANNEL_RATE",
        "370306100201",
        2018,
        ("90.00", True, COUNTY, 2018),
    ),
    ("the child's own beats the parent's", "GREEN_CHANNEL_RATE", TOWN, 2020, ("95.00", False, TOWN, 2019)),
    (
        "the child's own not yet in force: the parent's",
        "GREEN_CHANNEL_RATE",
        TOWN,
        2018,
        ("90.00", True, COUNTY, 2018),
    ),
    (
        "a village under a township's own target",
        "GREEN_CHANNEL_RATE",
        VILLAGE,
        2021,
        ("95.00", True, TOWN, 2019),
    ),
    ("inherited across two levels (city)", "FD_SIGNING_RATE", TOWN, 2020, ("70.00", True, CITY, 2018)),
    ("own from its year on", "FD_SIGNING_RATE", TOWN, 2022, ("85.00", False, TOWN, 2022)),
    ("the county inherits from the city", "FD_SIGNING_RATE", COUNTY, 2019, ("70.00", True, CITY, 2018)),
    ("before the city's year", "FD_SIGNING_RATE", COUNTY, 2017, None),
    ("a count target", "YL_INSTITUTIONS", COUNTY, 2020, ("20", False, COUNTY, 2020)),
    ("another county inherits nothing", "YL_INSTITUTIONS", OTHER_COUNTY, 2021, None),
    ("from the province to a village", "NURSING_BED_SHARE", VILLAGE, 2025, ("55.00", True, PROVINCE, 2025)),
    ("before the province's year", "NURSING_BED_SHARE", VILLAGE, 2024, None),
    ("no target for the indicator at all", "HOSPICE_SERVICES", COUNTY, 2025, None),
]


@pytest.mark.parametrize("case,indicator,region,year,expected", CASES, ids=[c[0] for c in CASES])
def test_resolve(case, indicator, region, year, expected):
    got = resolve(MAP, indicator, region, chain(region), year)
    if expected is None:
        assert got is None
        return
    value, inherited, src_region, src_year = expected
    assert got.value == Decimal(value)
    assert got.inherited is inherited
    assert got.region_code == src_region
    assert got.year == src_year


@pytest.mark.parametrize("case,indicator,region,year,expected", CASES, ids=[c[0] for c in CASES])
def test_resolve_many_agrees_with_resolve(case, indicator, region, year, expected):
    regions = [(r, chain(r)) for r in (region, COUNTY, TOWN, TOWN2, VILLAGE, OTHER_COUNTY)]
    many = resolve_many(
        MAP,
        regions,
        ["GREEN_CHANNEL_RATE", "FD_SIGNING_RATE", "YL_INSTITUTIONS", "NURSING_BED_SHARE", "HOSPICE_SERVICES"],
        year,
    )
    assert many.get((indicator, region)) == resolve(MAP, indicator, region, chain(region), year)


def test_resolved_carries_source_and_clause():
    got = resolve(MAP, "GREEN_CHANNEL_RATE", TOWN2, chain(TOWN2), 2020)
    assert got == Resolved(Decimal("100.00"), True, COUNTY, 2020, "冯政发〔2018〕24号", "二(三)")
    own = resolve(MAP, "GREEN_CHANNEL_RATE", TOWN, chain(TOWN), 2020)
    assert own.source == "" and own.clause == ""


def test_resolve_many_leaves_out_pairs_without_a_target():
    many = resolve_many(MAP, [(OTHER_COUNTY, chain(OTHER_COUNTY))], ["GREEN_CHANNEL_RATE"], 2020)
    assert many == {}


def test_resolve_many_takes_explicit_chains():
    # The caller's chain is what counts (e.g. a region whose parent in the tree is not the one
    # its digits imply): here the township is given only the city above it.
    many = resolve_many(MAP, [(TOWN2, (CITY,))], ["GREEN_CHANNEL_RATE", "FD_SIGNING_RATE"], 2020)
    assert ("GREEN_CHANNEL_RATE", TOWN2) not in many
    assert many[("FD_SIGNING_RATE", TOWN2)].region_code == CITY


# -- the shipped templates quote their seeds --------------------------------------------------------
SEEDS = Path(__file__).resolve().parents[3] / "shared" / "seeds"


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.mark.parametrize(
    "template",
    [t for t in TEMPLATES if t["seed_file"]],
    ids=[t["doc_no"] for t in TEMPLATES if t["seed_file"]],
)
def test_every_clause_quotes_its_seed(template):
    """Each item's quote (the text in “…”, with …… for what is left out) is in the seed file, and
    the 文号 — where the document has one — too."""
    path = SEEDS / template["seed_file"]
    if not path.exists():
        pytest.skip(f"seed documents not found at {SEEDS}")
    seed = _squash(path.read_text(encoding="utf-8"))
    if "没有文号" not in template["note"]:
        assert _squash(template["doc_no"]) in seed
    assert _squash(template["title"]) in seed
    for item in template["items"]:
        quote = re.search(r"“(.+)”", item["clause"]).group(1)
        for part in quote.split("……"):
            assert _squash(part) in seed, (item["indicator"], part)
