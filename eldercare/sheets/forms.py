"""Forms of the 批量导入 pages."""

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .readers import max_bytes, max_mb

ACCEPT = ".xlsx,.xls,.ods,.csv"


class UploadForm(forms.Form):
    file = forms.FileField(
        label=_("Spreadsheet file"),
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPT}),
        help_text=_(".xlsx, .xls, .ods or .csv (UTF-8 or GBK), at most 20 MB."),
    )
    as_of = forms.DateField(
        label=_("Data as of (数据截止日期)"),
        initial=timezone.localdate,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d"],
        help_text=_("The date this sheet's data takes effect; status changes take effect on their 状态日期."),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > max_bytes():
            raise forms.ValidationError(
                _("The file is larger than %(mb)s MB; please split it and upload the parts one by one."),
                params={"mb": max_mb()},
            )
        if upload.size == 0:
            raise forms.ValidationError(_("The file is empty."))
        return upload


class RejectForm(forms.Form):
    comment = forms.CharField(
        label=_("Reason for returning"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
