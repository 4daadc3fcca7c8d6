"""Views of the project itself: log in / log out and the health check (two-factor: two_factor_views.py)."""

from typing import Any

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect
from django.templatetags.static import static
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache

from billing.alerts import watchdog
from billing.notifications import portal_alerts
from portal import sso
from portal.celery import app as celery_app


@method_decorator(login_not_required, name="dispatch")
class LoginView(auth_views.LoginView):
    """Django's log-in view. django-axes (its backend and middleware) counts failures and refuses locked
    usernames with 429, here and on the admin's log-in alike (see portal/signin.py)."""

    template_name = "registration/login.html"
    redirect_authenticated_user = True


@method_decorator(login_not_required, name="dispatch")
class LogoutView(auth_views.LogoutView):
    """Ends the portal's session and, for a single sign-on session whose provider has an
    end_session_endpoint, the provider's too (it sends the browser back to the log-in page)."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        at_provider = sso.provider_logout_url(request)  # read before the session is flushed
        response = super().post(request, *args, **kwargs)
        return HttpResponseRedirect(at_provider) if at_provider else response


def _database_status() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means "down"; the type is what is reported
        return f"error: {type(exc).__name__}"
    return "ok"


def _broker_status() -> str:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:  # any transport error means "down"
        return f"error: {type(exc).__name__}"
    return "ok"


@login_not_required
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """JSON with the status of the database, the broker and the balance sweeps; 503 when any is not "ok"
    ("error" when the database or the broker is down, "degraded" when only the sweeps are late)."""
    checks = {"database": _database_status(), "broker": _broker_status()}
    checks["sweeps"] = _sweeps_status() if checks["database"] == "ok" else "unknown"
    if checks["database"] != "ok" or checks["broker"] != "ok":
        status = "error"
    else:
        status = "ok" if checks["sweeps"] == "ok" else "degraded"
    return JsonResponse({"status": status, **checks}, status=200 if status == "ok" else 503)


def _sweeps_status() -> str:
    try:
        sweeps = watchdog.sweep_status()
        portal_alerts.check_from_request(sweeps)
        return sweeps.label
    except Exception as exc:  # a broken query must not break the health check itself
        return f"error: {type(exc).__name__}"


@login_not_required
def favicon(request: HttpRequest) -> HttpResponse:
    """/favicon.ico, which browsers (and the Django admin's pages) ask for: the portal's icon."""
    return redirect(static("favicon.svg"), permanent=True)
