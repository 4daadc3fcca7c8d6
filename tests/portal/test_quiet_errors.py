"""Quiet logs and pages: the portal's 404 also in development, one log line per refused request, a favicon."""

import logging

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from portal.quiet_errors import OneLineForRefusals

pytestmark = pytest.mark.django_db


def test_unknown_urls_get_the_portals_404_page_with_debug_on(client, settings, django_user_model):
    settings.DEBUG = True
    client.force_login(django_user_model.objects.create_user("vera", "vera@example.com", "pw"))

    response = client.get("/no/such/page/")

    assert response.status_code == 404
    text = response.content.decode()
    assert "This page does not exist" in text
    assert "Django tried these URL patterns" not in text


def test_a_setting_brings_djangos_technical_404_back(client, settings, django_user_model):
    settings.DEBUG = True
    settings.DEBUG_TECHNICAL_404 = True
    client.force_login(django_user_model.objects.create_user("vera", "vera@example.com", "pw"))

    response = client.get("/no/such/page/")

    assert response.status_code == 404
    assert "Django tried these URL patterns" in response.content.decode()


def test_a_refused_request_is_one_log_line_without_a_traceback():
    try:
        raise PermissionDenied
    except PermissionDenied:
        import sys

        record = logging.LogRecord(
            "django.request", logging.WARNING, __file__, 1, "Forbidden", (), sys.exc_info()
        )
    record.status_code = 403

    assert OneLineForRefusals().filter(record) is True
    assert record.exc_info is None
    assert "Traceback" not in logging.Formatter().format(record)


def test_other_errors_keep_their_traceback():
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        import sys

        record = logging.LogRecord(
            "django.request", logging.ERROR, __file__, 1, "Server error", (), sys.exc_info()
        )
    record.status_code = 500

    OneLineForRefusals().filter(record)

    assert "Traceback" in logging.Formatter().format(record)


def test_favicon_ico_is_served(client):
    response = client.get("/favicon.ico")

    assert response.status_code == 301
    assert response["Location"].endswith("favicon.svg")
    assert reverse("favicon") == "/favicon.ico"


def test_a_403_in_the_views_writes_one_line_to_the_log(client, django_user_model):
    import io

    handler = next(h for h in logging.getLogger("django").handlers if isinstance(h, logging.StreamHandler))
    stream = io.StringIO()
    previous = handler.setStream(stream)
    try:
        client.force_login(django_user_model.objects.create_user("vera", "vera@example.com", "pw"))
        response = client.get(reverse("audit"))  # a viewer: PermissionDenied
    finally:
        handler.setStream(previous)

    assert response.status_code == 403
    logged = stream.getvalue()
    assert "Forbidden" in logged
    assert "Traceback" not in logged
    assert len([line for line in logged.splitlines() if line.strip()]) == 1  # sign-in chatter stays out too
