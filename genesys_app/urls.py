from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from oauth2_provider.views import TokenView

urlpatterns = [
    path("admin/", admin.site.urls),
    # Only the token endpoint of django-oauth-toolkit: the webhook clients use the client-credentials grant.
    path("oauth/token/", TokenView.as_view(), name="oauth-token"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("screenpop.urls")),
]
