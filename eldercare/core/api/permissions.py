"""API permissions: logged in, allowed to use the portal, and holding the view's own
permission. Views name what they need in `required_permissions` (a dict from HTTP method to
permission codes, "*" for any method); a view that names nothing is refused, so no endpoint is
open by accident."""

from rest_framework.permissions import BasePermission


class PortalPermission(BasePermission):
    message = "您没有执行此操作的权限。"

    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated and user.is_active):
            return False
        if getattr(view, "public", False):
            return True
        required = getattr(view, "required_permissions", None)
        if not required:
            return False
        perms = required.get(request.method, required.get("*"))
        if perms is None:
            return False
        return user.has_perms(["core.access_portal", *perms])


class PortalAccessPermission(BasePermission):
    """Signed in and allowed to use the portal: for the API schema and docs."""

    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and user.is_active and user.has_perm("core.access_portal"))
