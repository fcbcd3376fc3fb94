"""Forms of the filing pages. The filing form is built from the type: the institution it is
about (scoped, of the type's family), or the region it comes from, then the type's own fields
(effects.fields_for). Fields marked required are required at submission, not for saving a draft:
the service checks them (services.missing_for_submission) and the detail page lists what is
missing."""

from __future__ import annotations

from django import forms

from eldercare.accounts.scope import for_user
from institutions.models import Institution

from . import effects
from .selectors import family_of


class InstitutionChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        extra = "" if obj.status == "operating" else f"，{obj.get_status_display()}"
        return f"{obj.name}（{obj.region.name}{extra}）"


def payload_field(f: effects.Field) -> forms.Field:
    common = {"label": f.label, "required": False, "help_text": f.help}
    if f.kind == effects.INT:
        field = forms.IntegerField(min_value=0, **common)
    elif f.kind == effects.CHOICE:
        field = forms.ChoiceField(choices=[("", "——请选择——"), *f.choices], **common)
    elif f.kind == effects.DATE:
        field = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), **common)
    else:
        field = forms.CharField(max_length=300, **common)
    field.submit_required = f.required  # the page marks it; the service enforces it at submission
    return field


class FilingForm(forms.Form):
    """New filing (with `actor` and `region` — the region being viewed) or the content of an
    existing one (`filing`: its institution and region stay as filed)."""

    title = forms.CharField(
        label="标题", max_length=200, required=False, help_text="可留空：按机构名称和备案事项自动生成。"
    )

    def __init__(self, *args, ftype, actor, region=None, filing=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.ftype = ftype
        self.family = family_of(ftype)
        self.payload_names = [f.name for f in effects.fields_for(ftype.effect)]
        if filing is None:
            required = ftype.effect in effects.SUBJECT_REQUIRED
            if self.family:
                qs = (
                    for_user(Institution, actor, region=region)
                    .filter(family=self.family)
                    .select_related("region")
                    .order_by("region_id", "name", "pk")
                )
                self.fields["institution"] = InstitutionChoiceField(
                    qs,
                    label="备案所涉及的机构",
                    empty_label="——请选择机构——" if required else "——新机构（尚未登记）——",
                    required=required,
                    help_text=("医疗卫生机构" if self.family == "medical" else "养老服务机构")
                    + ("" if required else "；已登记的机构请选择，新设立的留空并选择所在地区"),
                )
                self.fields["institution"].submit_required = required
            if not required:
                self.fields["region"] = forms.ChoiceField(
                    label="所在地区",
                    choices=self._region_choices(actor, region),
                    initial=getattr(region, "code", None) or actor.region_id,
                    required=not self.family,
                    help_text="新机构所在的乡镇（街道）或村（社区）。",
                )
            self.order_fields(["institution", "region", "title"])
        for f in effects.fields_for(ftype.effect):
            self.fields[f.name] = payload_field(f)

    @staticmethod
    def _region_choices(actor, region):
        from eldercare.regions import codes
        from eldercare.regions.models import Region

        base = region or actor.region
        if base is None:
            return []
        regions = (
            Region.objects.for_user(actor)
            .filter(code__startswith=codes.prefix_of(base.code), active=True)
            .only("code", "name", "level")
            .order_by("code")
        )
        return [(r.code, "　" * max(r.level - base.level, 0) + r.name) for r in regions]

    def payload(self) -> dict:
        out = {}
        for name in self.payload_names:
            value = self.cleaned_data.get(name)
            if value in (None, ""):
                continue
            out[name] = value.isoformat() if hasattr(value, "isoformat") else value
        return out

    def payload_fields(self):
        return [self[name] for name in self.payload_names]

    def head_fields(self):
        return [self[name] for name in ("institution", "region", "title") if name in self.fields]


class AttachmentForm(forms.Form):
    requirement = forms.ChoiceField(label="材料类别")
    file = forms.FileField(label="文件", help_text="PDF、JPG 或 PNG（按文件内容识别）。")

    def __init__(self, *args, ftype, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["requirement"].choices = [
            (a["code"], a["label"] + ("（必需）" if a.get("required") else "")) for a in ftype.attachments
        ]
        self.fields[
            "file"
        ].help_text = f"PDF、JPG 或 PNG，不超过 {ftype.max_attachment_mb} MB（按文件内容识别，不看扩展名）。"
