"""The app's URLs plus the baselines the benchmarks compare against (bench-only URLs)."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.urls import path

from bench.intake_floor import intake_floor
from config.urls import urlpatterns as app_urlpatterns


@login_required
def nothing(request: HttpRequest) -> HttpResponse:
    """The do-nothing page: middleware, session and user look-up, no work. The screens' floor."""
    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns = [
    path("bench/nothing/", nothing),
    # Intake's floor: the same writes by hand, behind the same middleware (bench/intake_floor.py).
    path("bench/intake-floor/", intake_floor),
    *app_urlpatterns,
]
