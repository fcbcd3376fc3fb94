"""Forms of the contract pages. They type what the user sent; the rules (two right parties, end
after start, a frequency for 上门巡诊, the key taken, scope) are the service's
(contracts/services.py), whose field errors the views put back on these fields. So nothing is
required here that the service also checks: its Chinese messages are the ones shown."""

from __future__ import annotations

from django import forms
from django.db.models import Q
from django.utils import timezone

from eldercare.accounts.scope import for_user
from institutions.enums import Family, Status
from institutions.models import Institution

from . import page_selectors as ps
from .models import Frequency, Mode

DATE = {"type": "date"}
BAD_CHOICE = {"invalid_choice": "所选机构不在可选范围内，请重新选择。"}
BAD_DATE = {"invalid": "请输入有效的日期（年-月-日）。", "required": "请填写日期。"}


class MedicalChoiceField(forms.ModelChoiceField):
    """The county's medical institutions by name (the option's value is the id); the code only
    for those in the actor's scope — a township user sees another township's medical
    institution by id and name, nothing more (issue 5, CONTRACT.md `contracts` sheet)."""

    actor = None  # set by ContractForm

    def label_from_instance(self, obj):
        code = ps.visible_code(self.actor, obj) if self.actor is not None else ""
        return f"{obj.name}（{code}）" if code else obj.name


class HomeChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        extra = "" if obj.status == Status.OPERATING else f"，{obj.get_status_display()}"
        return f"{obj.name}（{obj.region.name}{extra}）"


class ContractForm(forms.Form):
    eldercare = HomeChoiceField(
        Institution.objects.none(),
        label="养老机构",
        required=False,
        empty_label="——请选择养老机构——",
        error_messages=BAD_CHOICE,
    )
    medical = MedicalChoiceField(
        Institution.objects.none(),
        label="医疗卫生机构",
        required=False,
        empty_label="——请选择医疗卫生机构——",
        error_messages=BAD_CHOICE,
        help_text="养老机构所在县（区）内运营中的医疗卫生机构。",
    )
    agreement_no = forms.CharField(label="协议编号", max_length=60, required=False)
    mode = forms.ChoiceField(label="合作方式", choices=Mode.choices, initial=Mode.AGREEMENT, required=False)
    services = forms.MultipleChoiceField(
        label="服务内容", required=False, widget=forms.CheckboxSelectMultiple
    )
    visit_frequency = forms.ChoiceField(
        label="巡诊频次",
        required=False,
        choices=[("", "——不约定巡诊——"), *Frequency.choices],
        help_text="选择了上门巡诊的，须约定巡诊频次（每周、每月、每季度或每半年）。",
    )
    start = forms.DateField(
        label="开始日期", required=False, widget=forms.DateInput(attrs=DATE), error_messages=BAD_DATE
    )
    end = forms.DateField(
        label="结束日期", required=False, widget=forms.DateInput(attrs=DATE), error_messages=BAD_DATE
    )

    def __init__(self, *args, actor, region, contract=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.contract = contract
        homes = for_user(Institution, actor, region=region).filter(family=Family.ELDERCARE)
        keep = Q(pk=contract.eldercare_id) if contract is not None else Q(pk__in=[])
        self.fields["eldercare"].queryset = (
            Institution.objects.filter(Q(pk__in=homes.exclude(status=Status.CLOSED).values("pk")) | keep)
            .select_related("region")
            .order_by("region_id", "name", "pk")
        )
        self.fields["medical"].actor = actor
        self.fields["medical"].queryset = ps.medical_choices(
            actor, region, include=contract.medical_id if contract is not None else None
        )
        self.items = ps.service_items()
        self.fields["services"].choices = [(s.code, s.name) for s in self.items]

    def facts(self) -> dict:
        d = self.cleaned_data
        order = {s.code: i for i, s in enumerate(self.items)}
        return {
            "medical": d.get("medical"),
            "eldercare": d.get("eldercare"),
            "agreement_no": d.get("agreement_no") or "",
            "mode": d.get("mode") or Mode.AGREEMENT,
            "services": sorted(d.get("services") or [], key=lambda c: order.get(c, 99)),
            "visit_frequency": d.get("visit_frequency") or "",
            "start": d.get("start"),
            "end": d.get("end"),
        }

    def head_fields(self):
        return [self[n] for n in ("eldercare", "medical", "agreement_no", "mode")]

    def term_fields(self):
        return [self[n] for n in ("start", "end")]


class TerminateForm(forms.Form):
    terminated_on = forms.DateField(
        label="终止日期",
        widget=forms.DateInput(attrs=DATE),
        initial=timezone.localdate,
        error_messages={**BAD_DATE, "required": "请填写终止日期。"},
        help_text="自该日起协议不再有效（该日不计入有效期）。",
    )
    reason = forms.CharField(label="终止原因", max_length=300, required=False)


class VisitForm(forms.Form):
    date = forms.DateField(
        label="巡诊日期",
        widget=forms.DateInput(attrs=DATE),
        initial=timezone.localdate,
        error_messages={**BAD_DATE, "required": "请填写巡诊日期。"},
    )
    persons = forms.IntegerField(
        label="服务人次",
        required=False,
        min_value=0,
        error_messages={"invalid": "服务人次应为整数。", "min_value": "服务人次不能为负数。"},
    )
    note = forms.CharField(label="备注", max_length=300, required=False)
