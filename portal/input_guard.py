"""Refuses a request holding a NUL character in its path or its query with a 400 that says so; form fields
say it on the form (Django's text fields refuse NUL, and so do the portal's own). PostgreSQL refuses NUL in
text ("cannot contain NUL (0x00) bytes"), so without this guard a NUL reaching a query (an account id from
the path, a filter) would be a 500 there and nowhere else.
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest

NUL = "\x00"
MESSAGE = "Bad request: it holds a NUL character (%00), which no address or field of the portal accepts.\n"


def _holds_nul(request: HttpRequest) -> bool:
    if NUL in request.path_info:
        return True
    sources = [request.GET]
    return any(
        NUL in key or any(NUL in value for value in values)
        for data in sources
        for key, values in data.lists()
    )


class RefuseNulMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _holds_nul(request):
            return HttpResponseBadRequest(MESSAGE, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
