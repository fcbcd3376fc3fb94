"""The region tree. The 12-digit code is the primary key, so every scoped model's region
foreign key column *is* the code and "everything under X" is an indexed prefix match on the
local column, with no join (docs/adr/0003-scope-mechanism.md)."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from . import codes


class Level(models.IntegerChoices):
    PROVINCE = codes.PROVINCE, _("Province")
    CITY = codes.CITY, _("City")
    COUNTY = codes.COUNTY, _("County")
    TOWNSHIP = codes.TOWNSHIP, _("Township")
    VILLAGE = codes.VILLAGE, _("Village")


class RegionQuerySet(models.QuerySet):
    def under(self, region_or_code, *, include_self: bool = True):
        code = getattr(region_or_code, "code", region_or_code)
        qs = self.filter(code__startswith=codes.prefix_of(code))
        return qs if include_self else qs.exclude(code=code)

    def for_user(self, actor):
        from eldercare.accounts.scope import scope_queryset

        return scope_queryset(self, actor, field="code")

    def active(self):
        return self.filter(active=True)


class Region(models.Model):
    code = models.CharField(_("division code"), max_length=12, primary_key=True)
    name = models.CharField(_("name"), max_length=100)
    level = models.PositiveSmallIntegerField(_("level"), choices=Level.choices, db_index=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    active = models.BooleanField(_("active"), default=True)
    successor = models.ForeignKey(
        "self",
        verbose_name=_("successor"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="predecessors",
        help_text=_("For a region retired by a boundary change (区划调整)."),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = RegionQuerySet.as_manager()

    # Scope: the field holding the region code on this model.
    scope_field = "code"

    class Meta:
        verbose_name = _("region")
        verbose_name_plural = _("regions")
        ordering = ["code"]
        permissions = [("import_region", _("Can import the region tree"))]
        # LIKE 'prefix%' on the code uses the varchar_pattern_ops index PostgreSQL gets
        # automatically for a CharField key (Django's "_like" index); this one serves tree browsing.
        indexes = [
            models.Index(fields=["parent", "code"], name="region_parent_code_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(level__gte=1, level__lte=5), name="region_level_range"),
        ]

    def __str__(self):
        return f"{self.name}（{self.code}）"

    @property
    def prefix(self) -> str:
        return codes.prefix_of(self.code)

    def ancestors(self):
        """Ancestors from the top down, by following parent links (at most four)."""
        chain, node = [], self.parent
        while node is not None:
            chain.append(node)
            node = node.parent
        return list(reversed(chain))

    def is_within(self, other) -> bool:
        return codes.is_within(self.code, other.code)
