"""Signing a person out everywhere at once when someone removes their access.

A session remembers the access generation it signed in at; someone removing any of the person's access raises
the generation (billing/people/access.py), and every older session is signed out at its next request.
"""

from collections.abc import Callable
from typing import Any

from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse

from billing.permissions import SESSION_GENERATION_KEY, access_generation, still_has_access


class AccessGenerationMiddleware:
    """After AuthenticationMiddleware: a session signed in before its person's access was removed is signed
    out, so the page that follows treats it as nobody (LoginRequiredMiddleware sends it to log in)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if user.is_authenticated and not still_has_access(
            user, request.session.get(SESSION_GENERATION_KEY, 0)
        ):
            logout(request)
        return self.get_response(request)


@receiver(user_logged_in)
def remember_generation(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_GENERATION_KEY] = access_generation(user)
