from eldercare.sheets.headers import Column, find_header

COLUMNS = [
    Column("机构名称", "name", required=True, synonyms=("单位名称", "名称")),
    Column("统一社会信用代码", "credit_code", synonyms=("信用代码", "社会信用代码")),
    Column("机构大类", "family", required=True),
    Column("核定养老床位数", "beds_eldercare", synonyms=("养老床位数", "床位数")),
]


def test_header_below_title_and_filler_rows_with_synonyms_and_any_order():
    rows = [
        ["北郊镇养老机构基本情况统计表", None, None],
        ["填报单位：北郊镇人民政府", None, "填报日期：2025年1月5日"],
        [],
        ["床位数", "单位名称 ", "机构大类*", "备注", "社会信用代码"],
        ["120张", "北郊镇敬老院", "养老服务机构", "", "91310110666007217T"],
    ]
    match = find_header(rows, COLUMNS)
    assert match.row == 4
    assert {i: c.key for i, c in match.columns.items()} == {
        0: "beds_eldercare",
        1: "name",
        2: "family",
        4: "credit_code",
    }
    assert match.unknown == ["备注"]
    assert match.missing_required == []


def test_full_width_header_text():
    rows = [["机构名称", "机构大类", "核定养老床位数（张）".replace("（张）", "")], ["ａ", "ｂ", "1"]]
    assert find_header(rows, COLUMNS).row == 1


def test_missing_required_column_is_reported():
    rows = [["标题"], ["单位名称", "床位数"], ["x", 1]]
    match = find_header(rows, COLUMNS)
    assert match.row == 2 and match.missing_required == ["机构大类"]


def test_no_header_at_all():
    assert find_header([["随便"], ["1", "2"]], COLUMNS) is None
