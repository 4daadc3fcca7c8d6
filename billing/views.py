"""Pages. Browsing pages read local tables only; forms go through billing.operations."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from billing.models import Account


def overview(request: HttpRequest) -> HttpResponse:
    accounts = Account.objects.filter(is_active=True)
    return render(request, "billing/overview.html", {"accounts": accounts})
