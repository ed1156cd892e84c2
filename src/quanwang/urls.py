from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from quanwang.api import api

# The console's own error pages (core.error_views); Django uses them with DEBUG off.
handler400 = "quanwang.core.error_views.bad_request"
handler403 = "quanwang.core.error_views.forbidden"
handler404 = "quanwang.core.error_views.not_found"
handler500 = "quanwang.core.error_views.server_error"

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(template_name="web/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("", include("quanwang.core.urls")),
    path("", include("quanwang.data.urls")),
    path("", include("quanwang.insight.urls")),
    path("", include("quanwang.campaigns.urls")),
    path("", include("quanwang.channels.urls")),
    path("", include("quanwang.enterprise.urls")),
    path("", include("quanwang.performance.urls")),
    path("", include("quanwang.web.urls")),
]
