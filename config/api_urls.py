from django.urls import include, path

urlpatterns: list = [
    path("", include("screening.urls")),
]
