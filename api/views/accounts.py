from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers, viewsets
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import Role, User
from accounts.selectors import filter_by_unit_code, users_visible_to
from accounts.two_factor import MISSING_CODE, WRONG_CODE, login_token_check


class UserSerializer(serializers.ModelSerializer):
    org_unit = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = User
        fields = ["id", "username", "full_name", "role", "org_unit"]
        read_only_fields = fields


class UserFilter(filters.FilterSet):
    username = filters.CharFilter(lookup_expr="icontains")
    role = filters.ChoiceFilter(choices=Role.choices)
    org_unit = filters.CharFilter(
        method="filter_org_unit", help_text=_("Unit code; includes every unit below it.")
    )

    class Meta:
        model = User
        fields: list[str] = []

    def filter_org_unit(self, queryset: QuerySet[User], name: str, value: str) -> QuerySet[User]:
        return filter_by_unit_code(queryset, value)


class UserViewSet(viewsets.ReadOnlyModelViewSet):
    """Users of the requester's unit and the units below it (e.g. verifiers to assign)."""

    serializer_class = UserSerializer
    filterset_class = UserFilter
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> QuerySet[User]:
        return users_visible_to(self.request.user)

    @action(detail=False, methods=["get"], pagination_class=None)
    def me(self, request: Request) -> Response:
        return Response(UserSerializer(request.user).data)


class TokenResponseSerializer(serializers.Serializer):
    token = serializers.CharField()


@extend_schema_serializer(component_name="AuthToken")  # the schema name clients already use
class TokenRequestSerializer(AuthTokenSerializer):
    otp_token = serializers.CharField(
        label=_("Two-factor code"), required=False, allow_blank=True, max_length=16,
        write_only=True,
        help_text=_("The current 6-digit TOTP code; required for users who turned on "
                    "two-factor login."),
    )

    def validate(self, attrs: dict) -> dict:
        attrs = super().validate(attrs)
        token = attrs.get("otp_token", "")
        result = login_token_check(user=attrs["user"], token=token,
                                   request=self.context.get("request"))
        if result is False:
            raise ValidationError({"otp_token": [WRONG_CODE if token else MISSING_CODE]})
        return attrs


class TokenView(ObtainAuthToken):
    """Exchange a username and password (and, for users with two-factor login on, a current
    TOTP code in `otp_token`) for an API token (`Authorization: Token <token>`)."""

    serializer_class = TokenRequestSerializer

    @extend_schema(request=TokenRequestSerializer, responses={200: TokenResponseSerializer}, auth=[])
    def post(self, request: Request, *args: object, **kwargs: object) -> Response:
        try:
            return super().post(request, *args, **kwargs)
        except ValidationError:
            # django-axes marks the request when this username+address is locked out; say so
            # plainly instead of "wrong password", which would invite more guessing.
            if getattr(request, "axes_locked_out", False):
                raise PermissionDenied(
                    _("Too many failed logins: this account is locked from your address for a while. "
                      "An administrator can unlock it.")
                ) from None
            raise
