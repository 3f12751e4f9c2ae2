"""Screens of the warehouse; the lead mounts these at /screening/ with namespace `screening`."""

from django.urls import path

from web.views import screening as views

app_name = "screening"

urlpatterns = [
    path("", views.warehouse, name="warehouse"),
    path("models/<int:pk>/", views.model_detail, name="model"),
    path("models/<int:pk>/action/", views.model_action, name="model_action"),
    path("datasets/", views.dataset_list, name="datasets"),
    path("datasets/<int:pk>/", views.dataset_detail, name="dataset"),
    path("datasets/<int:pk>/progress/", views.dataset_progress, name="dataset_progress"),
    path("runs/<int:pk>/", views.run_detail, name="run"),
    path("factory/", views.factory, name="factory"),
    path("factory/<int:pk>/", views.factory, name="factory_model"),
]
