from django.contrib import admin
from django.urls import include, path

from billing.api.app import urls as api_urls
from billing.views.metrics import metrics_view
from portal import sso_views, two_factor_views, views

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("two-factor/", two_factor_views.overview, name="two_factor"),
    path("two-factor/verify/", two_factor_views.verify, name="two_factor_verify"),
    path("two-factor/recovery-codes/", two_factor_views.renew_codes, name="two_factor_renew_codes"),
    path("two-factor/disable/", two_factor_views.disable, name="two_factor_disable"),
    path("confirm-access/", two_factor_views.confirm_sudo, name="sudo"),
    path("oidc/authenticate/", sso_views.SignInAtProvider.as_view(), name="oidc_authentication_init"),
    path("oidc/callback/", sso_views.ProviderCallback.as_view(), name="oidc_authentication_callback"),
    path("sso/roles/", sso_views.role_mapping, name="sso_roles"),
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("metrics", metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("api/v1/", api_urls()),
    path("", include("billing.urls")),
]
