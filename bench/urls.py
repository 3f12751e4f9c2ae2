"""The app's URLs plus the bare baseline the intake benchmark compares against."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.utils import timezone
from rest_framework import generics, serializers
from rest_framework.permissions import AllowAny

from alerts.models import Alert
from config.urls import urlpatterns as app_urlpatterns


class BareAlertSerializer(serializers.ModelSerializer):
    class Meta:
        model = Alert
        fields = ["id", "title", "risk_level", "org_unit", "source", "dedup_key"]


class BareCreate(generics.CreateAPIView):
    """A plain DRF create on the same table: no key check, no scope check, no dedup, no timeline."""

    serializer_class = BareAlertSerializer
    authentication_classes: list = []
    permission_classes = [AllowAny]

    def perform_create(self, serializer: BareAlertSerializer) -> None:
        serializer.save(stage_entered_at=timezone.now())


@login_required
def nothing(request: HttpRequest) -> HttpResponse:
    """The do-nothing page: middleware, session and user look-up, no work. The screens' floor."""
    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns = [
    path("bench/bare-create/", BareCreate.as_view()),
    path("bench/nothing/", nothing),
    *app_urlpatterns,
]
