"""Everything under /api/v1/ (a stable contract: other systems rely on these paths)."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from api.serializers.workflow import TRANSITION_BODIES
from api.views.accounts import TokenView, UserViewSet
from api.views.alerts import (
    AlertCommentsView,
    AlertEscalateHandlingView,
    AlertFindingsView,
    AlertTransitionView,
    AlertViewSet,
    EvidenceDownloadView,
    IntakeView,
    ReferralReplyView,
    StatsOverviewView,
)
from api.views.assessment import (
    AssessmentView,
    MyRechecksView,
    RecheckListView,
    RecheckOutcomeView,
    ReportDocumentView,
    ReportListView,
)
from api.views.subjects import SubjectViewSet

router = DefaultRouter()
router.register("alerts", AlertViewSet, basename="alert")
router.register("users", UserViewSet, basename="user")
router.register("subjects", SubjectViewSet, basename="subject")

urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="api-token"),
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
    # Merging and unmerging are transitions; these are their names in the contract.
    path("alerts/<int:pk>/merge/", AlertTransitionView.as_view(transition="merge"), name="alert-merge"),
    path("alerts/<int:pk>/unmerge/", AlertTransitionView.as_view(transition="unmerge"), name="alert-unmerge"),
    path("alerts/<int:pk>/escalate-handling/", AlertEscalateHandlingView.as_view(), name="alert-escalate-handling"),
    path("alerts/<int:pk>/referral-reply/", ReferralReplyView.as_view(), name="alert-referral-reply"),
    path("assessments/", AssessmentView.as_view(), name="assessments"),
    path("rechecks/", RecheckListView.as_view(), name="rechecks"),
    path("rechecks/mine/", MyRechecksView.as_view(), name="rechecks-mine"),
    path("rechecks/items/<int:pk>/outcome/", RecheckOutcomeView.as_view(), name="recheck-outcome"),
    path("reports/", ReportListView.as_view(), name="reports"),
    path("reports/<int:pk>/document/", ReportDocumentView.as_view(), name="report-document"),
    path("", include("api.urls_workflow")),
    path("", include("api.urls_screening")),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its start-up script as a file, so the docs work under a strict CSP.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    *router.urls,
]
