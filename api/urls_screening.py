"""API routes of the warehouse; mounted under /api/v1/ by `api/urls.py`."""

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from api.views import screening as api

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("datasets", api.DatasetViewSet, basename="dataset")
router.register("screening-models", api.ScreeningModelViewSet, basename="screening-model")
router.register("screening-runs", api.ScreeningRunViewSet, basename="screening-run")

urlpatterns = [
    path("datasets/<int:pk>/rows/", api.DatasetRowsView.as_view(), name="dataset-rows"),
    path("screening-templates/", api.TemplateListView.as_view(), name="screening-templates"),
    path("screening-specs/preview/", api.SpecPreviewView.as_view(), name="screening-spec-preview"),
    path("", include(router.urls)),
]
