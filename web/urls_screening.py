"""Screens of the warehouse; the lead mounts these at /screening/ with namespace `screening`."""

from django.urls import path

from web.views import screening as views

app_name = "screening"

urlpatterns = [
    path("", views.warehouse, name="warehouse"),
    path("models/<int:pk>/", views.model_detail, name="model"),
    path("models/<int:pk>/action/", views.model_action, name="model_action"),
    path("models/<int:pk>/preview/", views.model_preview, name="model_preview"),
    path("models/<int:pk>/copy/", views.model_copy, name="model_copy"),
    path("factory/form/<slug:code>/", views.factory_form, name="factory_form"),
    path("projects/", views.project_list, name="projects"),
    path("projects/<int:pk>/", views.project_detail, name="project"),
    path("indicators/", views.indicator_list, name="indicators"),
    path("indicators/<int:pk>/", views.indicator_edit, name="indicator"),
    path("datasets/", views.dataset_list, name="datasets"),
    path("datasets/<int:pk>/", views.dataset_detail, name="dataset"),
    path("datasets/<int:pk>/progress/", views.dataset_progress, name="dataset_progress"),
    path("runs/<int:pk>/", views.run_detail, name="run"),
    path("factory/", views.factory, name="factory"),
    path("factory/<int:pk>/", views.factory, name="factory_model"),
]
