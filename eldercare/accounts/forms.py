from django import forms
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from eldercare.core.net import client_ip
from eldercare.regions.models import Region

from . import roles as role_defs
from .lockout import ip_locked
from .models import User


class LoginForm(AuthenticationForm):
    username = forms.CharField(
        label=_("Username"),
        max_length=150,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    error_messages = {
        "invalid_login": _("Wrong username or password (or the account is disabled)."),
        "inactive": _("This account is disabled."),
        "ip_locked": _("Too many failed sign-ins from this network address. Try again later."),
    }

    def clean(self):
        if self.request is not None:
            ip = client_ip(self.request)
            if ip_locked(ip):
                from eldercare.audit.models import Action, Result
                from eldercare.audit.services import record

                username = (self.data.get("username") or "")[:150]
                record(
                    None,
                    Action.LOCKOUT,
                    username=username,
                    ip=ip,
                    result=Result.DENIED,
                    object_type="ip",
                    object_repr=ip,
                    detail={"what": "ip_limit"},
                )
                raise ValidationError(self.error_messages["ip_locked"], code="ip_locked")
        return super().clean()


class OTPTokenForm(forms.Form):
    token = forms.CharField(
        label=_("Verification code"),
        min_length=6,
        max_length=8,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )


class UserForm(forms.Form):
    username = forms.CharField(label=_("Username"), max_length=150)
    full_name = forms.CharField(label=_("Full name"), max_length=60, required=False)
    region = forms.ModelChoiceField(
        label=_("Region scope"), queryset=Region.objects.none(), to_field_name="code"
    )
    email = forms.EmailField(label=_("E-mail"), required=False)
    phone = forms.CharField(label=_("Phone"), max_length=30, required=False)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    password = forms.CharField(
        label=_("Initial password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("Leave blank to keep the current password. The user must change it at first sign-in."),
    )

    def __init__(self, *args, actor, creating: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if creating:
            self.fields["password"].required = True
            self.fields["password"].help_text = _("The user must change it at first sign-in.")
        # Township level and above: a scope is a township, county, city or province.
        self.fields["region"].queryset = Region.objects.for_user(actor).filter(level__lte=4, active=True)


class RoleForm(forms.Form):
    roles = forms.MultipleChoiceField(
        label=_("Roles"), choices=role_defs.ROLE_CHOICES, widget=forms.CheckboxSelectMultiple, required=False
    )
    region = forms.ModelChoiceField(
        label=_("Region scope"), queryset=Region.objects.none(), to_field_name="code"
    )

    def __init__(self, *args, actor, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].queryset = Region.objects.for_user(actor).filter(level__lte=4, active=True)

    def clean_roles(self):
        roles = self.cleaned_data["roles"]
        errors = role_defs.validate_role_set(roles)
        if errors:
            raise ValidationError(errors)
        return roles


class ProfileForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["full_name", "email", "phone", "otp_opt_in"]


class PortalPasswordChangeForm(PasswordChangeForm):
    """The periodic change must change something: the old password is refused as the new one."""

    def clean_new_password1(self):
        new = self.cleaned_data.get("new_password1")
        if new and self.user.check_password(new):
            raise ValidationError(
                _("The new password must differ from the current one."), code="password_reused"
            )
        return new
