"""Which billing period a period page shows: `?period=YYYY-MM-DD` (the UTC day it starts), else the newest
the portal keeps invoice lines of."""

from django.http import Http404, HttpRequest

from billing.models import Account, InvoiceLine
from billing.models.invoice_lines import BillingPeriod


def period_from_slug(account: Account, slug: str) -> BillingPeriod:
    """The account's billing period that starts on the UTC day `slug` (YYYY-MM-DD); Http404 when the portal
    keeps no lines of such a period."""
    for period in InvoiceLine.objects.periods(account):
        if period.slug == slug:
            return period
    raise Http404("No such billing period.")


def chosen_period(request: HttpRequest, account: Account) -> tuple[BillingPeriod | None, list[BillingPeriod]]:
    """(the period asked for or the newest, every period kept, newest first); (None, []) when there are none.
    Http404 for a period the account has no lines of."""
    periods = InvoiceLine.objects.periods(account)
    slug = request.GET.get("period")
    if slug:
        chosen = next((p for p in periods if p.slug == slug), None)
        if chosen is None:
            raise Http404("No such billing period.")
        return chosen, periods
    return (periods[0] if periods else None), periods
