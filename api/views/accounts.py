from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import ApiToken, Role, User
from accounts.selectors import filter_by_unit_code, users_visible_to
from accounts.tokens import api_token_issue, api_token_revoke, api_tokens_of, logout_everywhere
from accounts.two_factor import MISSING_CODE, WRONG_CODE, login_token_check
from api.throttles import TokenRequestThrottle
from core.ids import parse_id


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
    token = serializers.CharField(help_text=_("Send it as `Authorization: Token <token>`. Shown once; "
                                              "GET /api/v1/auth/tokens/ shows when it expires."))


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


class TokenView(APIView):
    """Exchange a username and password (and, for users with two-factor login on, a current
    TOTP code in `otp_token`) for an API token (`Authorization: Token <token>`). Each call
    issues a new token; it expires after a period without use (8 hours unless configured)."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes = [TokenRequestThrottle]

    @extend_schema(request=TokenRequestSerializer, responses={200: TokenResponseSerializer}, auth=[])
    def post(self, request: Request) -> Response:
        serializer = TokenRequestSerializer(data=request.data, context={"request": request})
        try:
            serializer.is_valid(raise_exception=True)
        except ValidationError:
            # django-axes marks the request when this username+address is locked out; say so
            # plainly instead of "wrong password", which would invite more guessing.
            if getattr(request, "axes_locked_out", False):
                raise PermissionDenied(
                    _("Too many failed logins: this account is locked from your address for a while. "
                      "An administrator can unlock it.")
                ) from None
            raise
        _token, key = api_token_issue(user=serializer.validated_data["user"], request=request)
        return Response({"token": key})


class ApiTokenSerializer(serializers.ModelSerializer):
    current = serializers.SerializerMethodField(help_text=_("True for the token making this request."))

    class Meta:
        model = ApiToken
        fields = ["id", "prefix", "client", "created_at", "last_used_at", "expires_at", "current"]
        read_only_fields = fields

    def get_current(self, token: ApiToken) -> bool:
        request = self.context.get("request")
        return isinstance(getattr(request, "auth", None), ApiToken) and request.auth.pk == token.pk


class ApiTokenViewSet(mixins.ListModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """Your own API tokens: list them, and revoke one (`DELETE`). Nobody sees another's."""

    serializer_class = ApiTokenSerializer
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> QuerySet[ApiToken]:
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no user
            return ApiToken.objects.none()
        return api_tokens_of(self.request.user)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        api_token_revoke(user=request.user, token_id=parse_id(self.kwargs["pk"]) or 0, request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class LogoutEverywhereResponseSerializer(serializers.Serializer):
    sessions = serializers.IntegerField(help_text=_("Other browser sessions ended."))
    tokens = serializers.IntegerField(help_text=_("API tokens revoked, this one included."))


class LogoutEverywhereView(APIView):
    """End every other browser session of yours and revoke all your API tokens."""

    @extend_schema(request=None, responses={200: LogoutEverywhereResponseSerializer})
    def post(self, request: Request) -> Response:
        return Response(logout_everywhere(user=request.user, request=request))
