"""The filing lifecycle as data, and the rules that read it. Pure: no ORM (DOMAIN.md §5).

A `Definition` is what an admin edits per filing type (stored as JSON on the type, the seeds'
values as defaults): the transitions — action, from-states, to-state, who may take it (the
applicant side or the deciding role) and whether a comment is required — and the time limits
in working days. `decide()` says whether an actor may take an action from a state, with a
Chinese reason when not; the service layer calls it under a row lock, so a refused transition is
refused in pages and API alike. `clock()` computes the running time limit from the ledger: a
return for correction stops the clock and re-acceptance starts it afresh."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from .workdays import UNPUBLISHED as UNPUBLISHED  # re-exported: the flag pages and API show
from .workdays import Calendar, Deadline, add_working_days, working_days_between

DRAFT, SUBMITTED, ACCEPTED, RETURNED, APPROVED, REJECTED, WITHDRAWN = (
    "draft",
    "submitted",
    "accepted",
    "returned",
    "approved",
    "rejected",
    "withdrawn",
)
STATE_LABELS = {
    DRAFT: "草稿",
    SUBMITTED: "已提交",
    ACCEPTED: "已受理",
    RETURNED: "退回补正",
    APPROVED: "已批准",
    REJECTED: "不予批准",
    WITHDRAWN: "已撤回",
}
STATE_CHOICES = list(STATE_LABELS.items())
FINAL = frozenset({APPROVED, REJECTED, WITHDRAWN})
APPLICANT = "applicant"  # the township (or institution) side; the other party is `decider_role`
DEPARTMENTS = {"health": "卫健局", "civil": "民政局"}


@dataclass(frozen=True)
class Transition:
    action: str
    sources: tuple[str, ...]
    target: str
    by: str  # APPLICANT or "decider"
    comment_required: bool = False
    label: str = ""


DEFAULT_TRANSITIONS = (
    # CONTRACT.md's API says "submit" for a resubmission too; "resubmit" is the page's name for it.
    Transition("submit", (DRAFT, RETURNED), SUBMITTED, APPLICANT, label="提交"),
    Transition("resubmit", (RETURNED,), SUBMITTED, APPLICANT, label="补正后重新提交"),
    Transition("withdraw", (DRAFT, SUBMITTED, ACCEPTED, RETURNED), WITHDRAWN, APPLICANT, label="撤回"),
    Transition("accept", (SUBMITTED,), ACCEPTED, "decider", label="受理"),
    # 一次性补正告知: before or after acceptance; always with the list of what to correct.
    Transition("return", (SUBMITTED, ACCEPTED), RETURNED, "decider", comment_required=True, label="退回补正"),
    Transition("approve", (ACCEPTED,), APPROVED, "decider", label="批准（备案）"),
    Transition("reject", (ACCEPTED,), REJECTED, "decider", comment_required=True, label="不予批准"),
)


@dataclass(frozen=True)
class Definition:
    decider_role: str  # "health" or "civil"
    transitions: tuple[Transition, ...] = DEFAULT_TRANSITIONS
    accept_days: int = 5  # submitted → accepted (行政许可法 第三十二条)
    decide_days: int = 10  # accepted → decided (000_a6a1084fb0cf220e.txt 三(二)(三))

    def transition(self, action: str) -> Transition | None:
        return next((t for t in self.transitions if t.action == action), None)

    @classmethod
    def from_config(cls, decider_role: str, config: dict | None) -> Definition:
        """The admin-edited JSON: {"accept_days", "decide_days", "transitions": [{action,
        sources, target, by, comment_required, label}]}; missing keys take the defaults.
        Raises ValueError with the Chinese reasons when the JSON breaks the rules
        (`config_errors`); the admin form shows them before anything is saved."""
        config = config or {}
        errors = config_errors(config)
        if errors:
            raise ValueError("；".join(errors))
        transitions = (
            tuple(
                Transition(
                    t["action"],
                    tuple(t["sources"]),
                    t["target"],
                    t["by"],
                    bool(t.get("comment_required", False)),
                    t.get("label", ""),
                )
                for t in config.get("transitions", [])
            )
            or DEFAULT_TRANSITIONS
        )
        return cls(
            decider_role=decider_role,
            transitions=transitions,
            accept_days=int(config.get("accept_days", 5)),
            decide_days=int(config.get("decide_days", 10)),
        )


# Reaching these states is a decision: only the deciding side may take such a transition,
# whatever a type's configuration says; and a return or rejection always needs its reasons.
DECIDER_TARGETS = frozenset({ACCEPTED, RETURNED, APPROVED, REJECTED})
REASONED_TARGETS = frozenset({RETURNED, REJECTED})


def config_errors(config: dict) -> list[str]:
    """What is wrong with a filing type's lifecycle JSON, in Chinese (empty: fine)."""
    errors = []
    if not isinstance(config, dict):
        return ["流程配置应为 JSON 对象。"]
    for key in ("accept_days", "decide_days"):
        if key in config and (
            not isinstance(config[key], int) or isinstance(config[key], bool) or config[key] < 0
        ):
            errors.append(f"{key} 应为不小于 0 的整数（工作日）。")
    transitions = config.get("transitions", [])
    if not isinstance(transitions, list):
        return [*errors, "transitions 应为列表。"]
    seen = set()
    for i, t in enumerate(transitions, 1):
        where = f"第 {i} 个流转"
        if not isinstance(t, dict) or not {"action", "sources", "target", "by"} <= set(t):
            errors.append(f"{where}须包含 action、sources、target、by。")
            continue
        if t["action"] in seen:
            errors.append(f"{where}：操作“{t['action']}”重复。")
        seen.add(t["action"])
        states = [t["target"], *(t["sources"] if isinstance(t["sources"], list) else [None])]
        if any(st not in STATE_LABELS for st in states):
            errors.append(f"{where}：状态须为 {'、'.join(STATE_LABELS)} 之一。")
        if t["by"] not in (APPLICANT, "decider"):
            errors.append(f"{where}：by 须为 applicant 或 decider。")
        elif t["target"] in DECIDER_TARGETS and t["by"] != "decider":
            errors.append(
                f"{where}：受理、退回、批准、不予批准只能由审核方执行（申请方不能审核自己的申请）。"
            )
        if t["target"] in REASONED_TARGETS and not t.get("comment_required"):
            errors.append(f"{where}：退回补正和不予批准必须填写意见（comment_required 为 true）。")
    return errors


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    target: str | None = None
    reason: str = ""  # Chinese, for the 403/409 message
    # why not: "unknown" (no such action), "state" (409), "applicant_only" / "own" / "role" (403),
    # "comment" (400)
    code: str = ""


def decide(
    definition: Definition,
    state: str,
    action: str,
    *,
    is_applicant: bool,
    roles: frozenset[str],
    comment: str = "",
) -> Verdict:
    """May this actor take `action` now? Separation of duties: the applicant side never decides
    (even holding the deciding role), the deciding side never acts for the applicant."""
    t = definition.transition(action)
    if t is None:
        return Verdict(False, reason=f"未知的操作：{action}。", code="unknown")
    label = t.label or action
    # Who first, then when: a township clerk pressing 受理 is told it is not theirs to take,
    # not that the state has moved on.
    by_decider = t.by != APPLICANT or t.target in DECIDER_TARGETS
    if not by_decider and not is_applicant:
        return Verdict(False, reason=f"只有申请方可以执行“{label}”。", code="applicant_only")
    if by_decider:
        if is_applicant:
            return Verdict(False, reason="申请方不能审核自己的申请。", code="own")
        if definition.decider_role not in roles:
            dept = DEPARTMENTS.get(definition.decider_role, "主管部门")
            return Verdict(False, reason=f"“{label}”须由{dept}经办人员执行。", code="role")
    if state not in t.sources:
        return Verdict(
            False, reason=f"当前状态为“{STATE_LABELS.get(state, state)}”，不能执行“{label}”。", code="state"
        )
    if (t.comment_required or t.target in REASONED_TARGETS) and not comment.strip():
        what = {RETURNED: "需补正的全部内容", REJECTED: "不予批准的理由"}.get(t.target, "意见")
        return Verdict(False, reason=f"“{label}”须填写{what}。", code="comment")
    return Verdict(True, target=t.target)


@dataclass(frozen=True)
class Step:
    """One ledger entry: the action taken, the state it led to, and the day it happened."""

    action: str
    target: str
    day: datetime.date


@dataclass(frozen=True)
class Clock:
    phase: str  # "acceptance" (submitted, awaiting 受理), "decision", or "" (stopped / final)
    started: datetime.date | None
    deadline: Deadline | None
    history: list = field(default_factory=list)


def clock(definition: Definition, steps: list[Step], cal: Calendar | None = None) -> Clock:
    """The time limit running now. Submission starts the acceptance limit; acceptance starts the
    decision limit (the acceptance day not counted); a return stops the clock, and resubmission
    and re-acceptance start it afresh; a final state stops it."""
    phase, started = "", None
    for step in steps:
        if step.target == SUBMITTED:
            phase, started = "acceptance", step.day
        elif step.target == ACCEPTED:
            phase, started = "decision", step.day
        elif step.target == RETURNED or step.target in FINAL:
            phase, started = "", None
    if not phase:
        return Clock("", None, None)
    days = definition.accept_days if phase == "acceptance" else definition.decide_days
    return Clock(phase, started, add_working_days(started, days, cal))


def available(
    definition: Definition, state: str, *, is_applicant: bool, roles: frozenset[str]
) -> list[Transition]:
    """The actions this actor may take from `state` (a comment, where required, still to be
    given): what the page shows as buttons and the API lists as `actions`."""
    return [
        t
        for t in definition.transitions
        if decide(definition, state, t.action, is_applicant=is_applicant, roles=roles, comment="-").allowed
    ]


DUE_SOON_DAYS = 2  # ≤ 2 working days left: amber in the inbox, in the nightly digest


def alert(due: datetime.date, today: datetime.date, cal: Calendar | None = None) -> str:
    """ "overdue" after the due day, "due_soon" with ≤2 working days left, else ""."""
    if today > due:
        return "overdue"
    if working_days_between(today, due, cal) <= DUE_SOON_DAYS:
        return "due_soon"
    return ""
