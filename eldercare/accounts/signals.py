"""三权分立 enforced below the services too: whatever adds groups (the admin site, the shell),
a user ends up with a valid role set or the change is refused."""

from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db.models.signals import m2m_changed
from django.dispatch import receiver

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
