"""The portal's own 404 page in development too, and one log line (not a traceback) per refused request.

Django answers an unknown URL with its technical 404 page while DEBUG is on; people trying the demo should
see the portal's page. DEBUG_TECHNICAL_404=true brings Django's page back for whoever wants it.
"""

import logging
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound
from django.template.loader import render_to_string


class PortalNotFoundPage(HttpResponseNotFound):
    """The portal's `404.html`, put in place of Django's page (and so never replaced again)."""


class PortalNotFoundMiddleware:
    """In DEBUG, replaces Django's technical 404 page with `404.html` (production already uses it)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code == 404
            and settings.DEBUG
            and not settings.DEBUG_TECHNICAL_404
            and response.get("Content-Type", "").startswith("text/html")
            and not isinstance(response, PortalNotFoundPage)
        ):
            return PortalNotFoundPage(render_to_string("404.html", request=request))
        return response


class OneLineForRefusals(logging.Filter):
    """Keeps a refused request (403, 404) to one line in the log: its traceback says nothing new."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if status in (403, 404) and record.exc_info:
            record.exc_info = None
            record.exc_text = None
        return True
