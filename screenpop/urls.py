from django.urls import include, path

from screenpop import health, home
from screenpop.api import views

urlpatterns = [
    path("", home.start_page, name="start-page"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", health.metrics_view, name="metrics"),
    path("api/v1/genesys/events", views.GenesysEventsView.as_view(), name="genesys-events"),
    path("api/v1/freshdesk/events/<str:url_token>", views.FreshdeskEventsView.as_view(), name="freshdesk-events"),
    path("api/v1/pops/<str:conversation_id>", views.PopStateView.as_view(), name="pop-state"),
    path("api/v1/pops/<str:conversation_id>/retry", views.PopRetryView.as_view(), name="pop-retry"),
    path("install/", include("screenpop.install.urls")),
    # The agent panel and the demo desktop: /widget/, /api/v1/panel/session, /api/v1/pops/<id>/tickets, /demo/.
    path("", include("screenpop.panel.urls")),
]
