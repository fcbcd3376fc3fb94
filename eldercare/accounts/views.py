"""Sign-in, second factor, password change, profile, and user administration pages."""

import base64
import io

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from eldercare.core.views import add_service_errors, portal_permission_required

from . import roles as role_defs
from . import services
from .forms import LoginForm, OTPTokenForm, PortalPasswordChangeForm, ProfileForm, RoleForm, UserForm
from .lockout import is_locked
from .scope import get_for_user

User = get_user_model()


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    """POST only (Django 5); logout() flushes and deletes the server-side session."""


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    form_class = PortalPasswordChangeForm
    success_url = reverse_lazy("core:home")

    def form_valid(self, form):
        response = super().form_valid(form)
        services.password_changed(actor=self.request.user, user=form.user)
        messages.success(self.request, _("Your password has been changed."))
        return response


def _qr_data_uri(config_url: str) -> str:
    import qrcode
    import qrcode.image.svg

    img = qrcode.make(config_url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buf = io.BytesIO()
    img.save(buf)
    return "data:image/svg+xml;base64," + base64.b64encode(buf.getvalue()).decode()


def otp(request):
    """Second factor: enrol a TOTP authenticator on first use, then verify at every sign-in."""
    if not request.user.is_authenticated:
        return redirect("accounts:login")
    user = request.user
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    enrolling = device is None
    if enrolling:
        device = TOTPDevice.objects.filter(user=user, confirmed=False).first() or TOTPDevice.objects.create(
            user=user, name=_("Authenticator"), confirmed=False
        )
    form = OTPTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["token"].strip()):
            if enrolling:
                device.confirmed = True
                device.save(update_fields=["confirmed"])
                services.second_factor_enrolled(actor=user, user=user, device=device)
            otp_login(request, device)
            nxt = request.GET.get("next") or ""
            if not url_has_allowed_host_and_scheme(
                nxt, allowed_hosts={request.get_host()}, require_https=request.is_secure()
            ):
                nxt = "core:home"
            return redirect(nxt)
        services.second_factor_failed(actor=user, channel="page")
        form.add_error("token", _("The verification code is wrong or has expired."))
    ctx = {"form": form, "enrolling": enrolling}
    if enrolling:
        ctx["qr"] = _qr_data_uri(device.config_url)
        ctx["secret"] = base64.b32encode(device.bin_key).decode()
    return render(request, "accounts/otp.html", ctx)


@portal_permission_required()
def profile(request):
    form = ProfileForm(request.POST or None, instance=User.objects.get(pk=request.user.pk))
    if request.method == "POST" and form.is_valid():
        services.profile_update(
            actor=request.user, **{k: form.cleaned_data[k] for k in ProfileForm.Meta.fields}
        )
        messages.success(request, _("Saved."))
        return redirect("accounts:profile")
    return render(request, "accounts/profile.html", {"form": form})


@portal_permission_required("accounts.view_user")
def user_list(request):
    qs = User.objects.for_user(request.user).select_related("region").prefetch_related("groups")
    q = (request.GET.get("q") or "").strip()
    if q:
        qs = qs.filter(Q(username__icontains=q) | Q(full_name__icontains=q))
    role = request.GET.get("role")
    if role in role_defs.ROLE_CODES:
        qs = qs.filter(groups__name=role)
    page = Paginator(qs.order_by("username"), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "accounts/user_list.html",
        {"page": page, "q": q, "role": role, "role_choices": role_defs.ROLE_CHOICES},
    )


@portal_permission_required("accounts.view_user")
def user_detail(request, pk):
    user = get_for_user(User.objects.select_related("region"), request.user, pk=pk)
    return render(
        request,
        "accounts/user_detail.html",
        {
            "obj": user,
            "locked": is_locked(user.username),
            "obj_is_admin_role": bool(user.roles & role_defs.EXCLUSIVE_ROLES),
            "has_device": TOTPDevice.objects.filter(user=user, confirmed=True).exists(),
        },
    )


def _user_form_view(request, user=None):
    initial = {}
    if user is not None:
        initial = {
            "username": user.username,
            "full_name": user.full_name,
            "region": user.region_id,
            "email": user.email,
            "phone": user.phone,
            "is_active": user.is_active,
        }
    form = UserForm(request.POST or None, actor=request.user, initial=initial, creating=user is None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            saved = services.user_save(
                actor=request.user,
                user=user,
                create_only=user is None,
                username=data["username"],
                region=data["region"],
                full_name=data["full_name"],
                email=data["email"],
                phone=data["phone"],
                is_active=data["is_active"],
                password=data["password"] or None,
                must_change_password=True if data["password"] else None,
            )
        except (ValidationError, PermissionDenied) as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("accounts:user_detail", pk=saved.pk)
    return render(request, "accounts/user_form.html", {"form": form, "obj": user})


@portal_permission_required("accounts.add_user")
def user_create(request):
    return _user_form_view(request)


@portal_permission_required("accounts.change_user")
def user_edit(request, pk):
    user = get_for_user(User, request.user, pk=pk)
    if user.roles & role_defs.EXCLUSIVE_ROLES:
        # 三权分立: administrator accounts are kept with create_portal_user; own details via 我的账号.
        raise PermissionDenied
    return _user_form_view(request, user)


@portal_permission_required("accounts.assign_roles")
def user_roles(request, pk):
    user = get_for_user(User, request.user, pk=pk)
    form = RoleForm(
        request.POST or None,
        actor=request.user,
        initial={"roles": sorted(user.roles), "region": user.region_id},
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.user_set_roles(
                actor=request.user,
                user=user,
                roles=form.cleaned_data["roles"],
                region=form.cleaned_data["region"],
            )
        except (ValidationError, PermissionDenied) as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Roles saved."))
            return redirect("accounts:user_detail", pk=user.pk)
    return render(request, "accounts/user_roles.html", {"form": form, "obj": user})


@require_POST
@portal_permission_required("accounts.unlock_user")
def user_unlock(request, pk):
    user = get_for_user(User, request.user, pk=pk)
    services.user_unlock(actor=request.user, user=user)
    messages.success(request, _("The account has been unlocked."))
    return redirect("accounts:user_detail", pk=user.pk)


@require_POST
@portal_permission_required("accounts.reset_second_factor")
def user_reset_otp(request, pk):
    user = get_for_user(User, request.user, pk=pk)
    services.user_reset_second_factor(actor=request.user, user=user)
    messages.success(request, _("The second factor has been reset; the user enrols again at next sign-in."))
    return redirect(reverse("accounts:user_detail", args=[user.pk]))
