from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from screenpop.oauth import ThrottledTokenView

urlpatterns = [
    path("admin/", admin.site.urls),
    # Only the token endpoint of django-oauth-toolkit (the webhook clients use the client-credentials grant), behind
    # a throttle of failed requests per client id and per address.
    path("oauth/token/", ThrottledTokenView.as_view(), name="oauth-token"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("screenpop.urls")),
]
