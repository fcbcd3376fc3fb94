from django.contrib.auth import get_user_model
from rest_framework import serializers


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)
    otp = serializers.CharField(required=False, allow_blank=True)


class TokenResponseSerializer(serializers.Serializer):
    token = serializers.CharField()
    expires_at = serializers.DateTimeField()


class UserSerializer(serializers.ModelSerializer):
    roles = serializers.SerializerMethodField()
    region = serializers.CharField(source="region_id", read_only=True)

    class Meta:
        model = get_user_model()
        fields = ["id", "username", "full_name", "region", "roles", "is_active", "last_login"]
        read_only_fields = fields

    def get_roles(self, obj) -> list[str]:
        return sorted(g.name for g in obj.groups.all())
