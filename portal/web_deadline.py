"""No web request waits on Cloudflare for longer than CLOUDFLARE_WEB_TIMEOUT, whichever page makes the call.

The client enforces it (`billing.cloudflare.deadline_scope`): inside a request every call is one attempt, a
Retry-After or an empty request budget is answered at once instead of slept through, and all the calls of the
request together end within the deadline, well inside gunicorn's --timeout.
"""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from billing.cloudflare import deadline_scope


class CloudflareDeadlineMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with deadline_scope(settings.CLOUDFLARE_WEB_TIMEOUT):
            return self.get_response(request)
