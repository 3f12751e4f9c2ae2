"""Everything under /api/v1/ (a stable contract: other systems rely on these paths)."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from api.serializers.workflow import TRANSITION_BODIES
from api.views.accounts import ApiTokenViewSet, LogoutEverywhereView, TokenView, UserViewSet
from api.views.alerts import (
    AlertCommentsView,
    AlertFindingsView,
    AlertTransitionView,
    AlertViewSet,
    EvidenceDownloadView,
    IntakeView,
    StatsOverviewView,
)

router = DefaultRouter()
router.register("alerts", AlertViewSet, basename="alert")
router.register("users", UserViewSet, basename="user")
router.register("auth/tokens", ApiTokenViewSet, basename="api-token-own")

urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="api-token"),
    path("auth/logout-everywhere/", LogoutEverywhereView.as_view(), name="api-logout-everywhere"),
    path("intake/alerts/", IntakeView.as_view(), name="intake-alerts"),
    path("stats/overview/", StatsOverviewView.as_view(), name="stats-overview"),
    path("alerts/<int:pk>/comments/", AlertCommentsView.as_view(), name="alert-comments"),
    path("alerts/<int:pk>/findings/", AlertFindingsView.as_view(), name="alert-findings"),
    path("evidence/<int:pk>/download/", EvidenceDownloadView.as_view(), name="evidence-download"),
    *[
        path(
            f"alerts/<int:pk>/transitions/{name}/",
            AlertTransitionView.as_view(transition=name),
            name=f"alert-transition-{name}",
        )
        for name in TRANSITION_BODIES
    ],
    path("", include("api.urls_workflow")),
    path("", include("api.urls_screening")),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its start-up script as a file, so the docs work under a strict CSP.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    *router.urls,
]
