from django.urls import path

from screenpop import health

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
]
