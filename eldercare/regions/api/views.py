from rest_framework import serializers, viewsets

from ..models import Region


class RegionSerializer(serializers.ModelSerializer):
    parent = serializers.CharField(source="parent_id", read_only=True, allow_null=True)
    successor = serializers.CharField(source="successor_id", read_only=True, allow_null=True)

    class Meta:
        model = Region
        fields = ["code", "name", "level", "parent", "active", "successor"]
        read_only_fields = fields


class RegionViewSet(viewsets.ReadOnlyModelViewSet):
    """Regions in the caller's scope. Filters: `parent` (direct children), `level` (1–5),
    `under` (a code: that region and everything below it)."""

    serializer_class = RegionSerializer
    lookup_field = "code"
    lookup_value_regex = r"\d{12}"
    required_permissions = {"GET": ["regions.view_region"]}
    queryset = Region.objects.none()

    def get_queryset(self):
        qs = Region.objects.for_user(self.request.user).order_by("code")
        params = self.request.query_params
        if params.get("parent"):
            qs = qs.filter(parent_id=params["parent"])
        if params.get("level", "").isdigit():
            qs = qs.filter(level=int(params["level"]))
        if params.get("under", "").isdigit() and len(params["under"]) == 12:
            qs = qs.under(params["under"])
        return qs
