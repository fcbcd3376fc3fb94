"""The filing lifecycle as data (DOMAIN.md §5): allowed and refused transitions with their
Chinese reasons, separation of duties, comments, and the clock across a return for correction
and the 2026 National Day holiday."""

import datetime

import pytest

from eldercare.workflow import machine as m
from eldercare.workflow.workdays import UNPUBLISHED

D = datetime.date
CIVIL = m.Definition(decider_role="civil")
OFFICER = dict(is_applicant=False, roles=frozenset({"civil"}))
TOWNSHIP = dict(is_applicant=True, roles=frozenset({"township"}))


@pytest.mark.parametrize(
    "state,action,who,comment,target",
    [
        (m.DRAFT, "submit", TOWNSHIP, "", m.SUBMITTED),
        (m.SUBMITTED, "accept", OFFICER, "", m.ACCEPTED),
        (m.ACCEPTED, "return", OFFICER, "缺少床位平面图", m.RETURNED),
        (m.RETURNED, "resubmit", TOWNSHIP, "", m.SUBMITTED),
        (m.ACCEPTED, "approve", OFFICER, "", m.APPROVED),
        (m.ACCEPTED, "reject", OFFICER, "不符合条件", m.REJECTED),
        (m.SUBMITTED, "withdraw", TOWNSHIP, "", m.WITHDRAWN),
    ],
)
def test_the_lifecycle(state, action, who, comment, target):
    verdict = m.decide(CIVIL, state, action, comment=comment, **who)
    assert verdict.allowed and verdict.target == target


@pytest.mark.parametrize(
    "state,action,who,comment,fragment",
    [
        (m.SUBMITTED, "approve", OFFICER, "", "当前状态"),  # not accepted yet
        (m.APPROVED, "withdraw", TOWNSHIP, "", "当前状态"),  # decided: too late
        (m.SUBMITTED, "accept", TOWNSHIP, "", "申请方不能审核"),
        (
            m.SUBMITTED,
            "accept",
            dict(is_applicant=False, roles=frozenset({"health"})),
            "",
            "须由民政局经办人员执行",
        ),
        (m.DRAFT, "submit", OFFICER, "", "只有申请方"),
        (m.ACCEPTED, "reject", OFFICER, "  ", "须填写"),
        (m.SUBMITTED, "return", OFFICER, "", "须填写"),
        (m.SUBMITTED, "publish", OFFICER, "", "未知的操作"),
    ],
)
def test_refusals_say_why_in_chinese(state, action, who, comment, fragment):
    verdict = m.decide(CIVIL, state, action, comment=comment, **who)
    assert not verdict.allowed and fragment in verdict.reason


def test_an_applicant_holding_the_deciding_role_still_cannot_decide_their_own_filing():
    verdict = m.decide(CIVIL, m.SUBMITTED, "accept", is_applicant=True, roles=frozenset({"civil"}))
    assert not verdict.allowed and "申请方不能审核" in verdict.reason


def test_clock_across_national_day_and_a_return():
    steps = [m.Step("submit", m.SUBMITTED, D(2026, 9, 28))]
    c = m.clock(CIVIL, steps)
    # 5 working days after Mon 09-28: 29, 30, (10-01..07 holiday) 10-08, 10-09, 10-10 (Sat, 调休).
    assert c.phase == "acceptance" and c.deadline.due == D(2026, 10, 10)
    steps.append(m.Step("accept", m.ACCEPTED, D(2026, 9, 30)))
    # 10 working days after Wed 09-30: 10-08, 09, 10 (Sat, 调休), 12–16, 19, 20 → Tue 10-20.
    assert m.clock(CIVIL, steps).deadline.due == D(2026, 10, 20)
    steps.append(m.Step("return", m.RETURNED, D(2026, 10, 12)))
    assert m.clock(CIVIL, steps).deadline is None  # the clock stops
    steps += [m.Step("resubmit", m.SUBMITTED, D(2026, 10, 20)), m.Step("accept", m.ACCEPTED, D(2026, 10, 21))]
    again = m.clock(CIVIL, steps)
    assert (
        again.phase == "decision"
        and again.started == D(2026, 10, 21)
        and again.deadline.due == D(2026, 11, 4)
    )
    steps.append(m.Step("approve", m.APPROVED, D(2026, 10, 30)))
    assert m.clock(CIVIL, steps).phase == ""


def test_a_deadline_in_2027_is_flagged():
    c = m.clock(CIVIL, [m.Step("accept", m.ACCEPTED, D(2026, 12, 21))])
    assert c.deadline.provisional and c.deadline.note == UNPUBLISHED


def test_definition_from_admin_config():
    d = m.Definition.from_config("health", {"decide_days": 20})
    assert (d.accept_days, d.decide_days, d.decider_role) == (5, 20, "health")
    custom = m.Definition.from_config(
        "civil",
        {
            "transitions": [
                {"action": "accept", "sources": ["submitted"], "target": "accepted", "by": "decider"}
            ]
        },
    )
    assert [t.action for t in custom.transitions] == ["accept"]


def test_a_configuration_cannot_let_the_applicant_decide_or_drop_reasons():
    bad = {
        "accept_days": "five",
        "transitions": [
            {"action": "submit", "sources": ["draft"], "target": "submitted", "by": "applicant"},
            {"action": "approve", "sources": ["submitted"], "target": "approved", "by": "applicant"},
            {"action": "reject", "sources": ["accepted"], "target": "rejected", "by": "decider"},
            {"action": "fly", "sources": ["nowhere"], "target": "moon", "by": "someone"},
            {"action": "half"},
        ],
    }
    errors = m.config_errors(bad)
    text = "\n".join(errors)
    assert "accept_days 应为不小于 0 的整数" in text
    assert "第 2 个流转：受理、退回、批准、不予批准只能由审核方执行" in text
    assert "第 3 个流转：退回补正和不予批准必须填写" in text
    assert "第 4 个流转：状态须为" in text and "by 须为 applicant 或 decider" in text
    assert "第 5 个流转须包含" in text
    with pytest.raises(ValueError):
        m.Definition.from_config("civil", bad)
    assert m.config_errors({"accept_days": 3, "decide_days": 15}) == []


def test_the_decider_rule_holds_even_for_a_stored_bad_definition():
    """Data written around the admin form (a migration, SQL) still cannot let the township
    approve its own filing: reaching a decision state is the deciding side's, always."""
    rogue = m.Definition(
        decider_role="civil",
        transitions=(m.Transition("approve", (m.SUBMITTED,), m.APPROVED, m.APPLICANT),),
    )
    verdict = m.decide(rogue, m.SUBMITTED, "approve", is_applicant=True, roles=frozenset({"township"}))
    assert not verdict.allowed and verdict.code == "own"


def test_who_is_checked_before_when():
    verdict = m.decide(CIVIL, m.ACCEPTED, "accept", **TOWNSHIP)
    assert verdict.code == "own"  # 403 for the clerk, not 409
