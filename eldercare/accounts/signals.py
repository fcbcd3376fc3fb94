"""三权分立 enforced below the services too: whatever adds groups (the admin site, the shell),
a user ends up with a valid role set or the change is refused."""

from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ValidationError
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from eldercare.core import dataversion

from . import roles as role_defs
from .models import User


@receiver(m2m_changed, sender=User.groups.through, dispatch_uid="accounts_role_guard")
def _role_guard(sender, instance, action, reverse, model, pk_set, **kwargs):
    if action != "pre_add" or not pk_set:
        return
    if reverse:
        # group.user_set.add(users...): instance is a Group.
        group_name = instance.name
        if group_name not in role_defs.ROLE_CODES:
            return
        for user in User.objects.filter(pk__in=pk_set):
            errors = role_defs.validate_role_set(set(user.roles) | {group_name})
            if errors:
                raise ValidationError(errors)
        return
    added = set(
        Group.objects.filter(pk__in=pk_set, name__in=role_defs.ROLE_CODES).values_list("name", flat=True)
    )
    current = set(instance.groups.filter(name__in=role_defs.ROLE_CODES).values_list("name", flat=True))
    errors = role_defs.validate_role_set(current | added)
    if errors:
        raise ValidationError(errors)
    instance.__dict__.pop("_roles_cache", None)


def _auth_changed(**kwargs):
    """A user's roles or permissions may have changed: every cached permission set is stale
    (accounts.backends.PortalModelBackend.get_all_permissions)."""
    if kwargs.get("action", "post_").startswith("post_"):
        dataversion.bump_auth()


for _through in (User.groups.through, User.user_permissions.through, Group.permissions.through):
    m2m_changed.connect(_auth_changed, sender=_through, dispatch_uid=f"auth_version_{_through.__name__}")
for _model in (Group, Permission):
    post_save.connect(_auth_changed, sender=_model, dispatch_uid=f"auth_version_save_{_model.__name__}")
    post_delete.connect(_auth_changed, sender=_model, dispatch_uid=f"auth_version_delete_{_model.__name__}")
