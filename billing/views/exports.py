"""Downloads across accounts: the FOCUS 1.2 cost and usage dataset, and one CSV of every account's figures.
Both read local tables only and stream their lines as they are made (`csv_stream`: through the portal's one
CSV writer, a block of lines at a time)."""

from django.http import HttpRequest, HttpResponseBadRequest, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils import timezone

from billing.exports.focus import COLUMNS, focus_rows
from billing.figures import stored_figures_of_rows
from billing.figures.totals import ACCOUNT_CSV_COLUMNS, account_csv_rows
from billing.forms.exports import FocusExportForm
from billing.permissions import accounts_for
from billing.views.csv_stream import csv_response
from billing.views.overview import overview_accounts


def focus_export(request: HttpRequest) -> HttpResponseBase:
    """The FOCUS dataset of one account (?account=<Cloudflare id>) or of every account the person sees, over
    ?start=…&end=… (UTC days; default this month so far)."""
    form = FocusExportForm(request.GET, today=timezone.now().date())
    if not form.is_valid():
        errors = "; ".join(str(message) for messages in form.errors.values() for message in messages)
        return HttpResponseBadRequest(errors, content_type="text/plain; charset=utf-8")
    accounts = accounts_for(request.user)
    if form.cleaned_data["account"]:
        accounts = accounts.filter(cloudflare_id=form.cleaned_data["account"])
    ids = list(accounts.values_list("pk", flat=True))
    if form.cleaned_data["account"] and not ids:
        return HttpResponseBadRequest("No such account among those you may see.", content_type="text/plain")
    start, end = form.cleaned_data["start"], form.cleaned_data["end"]
    filename = f"focus-1.2-{start:%Y%m%d}-{end:%Y%m%d}.csv"
    return csv_response(filename, COLUMNS, focus_rows(ids, start, end))


def accounts_csv(request: HttpRequest) -> StreamingHttpResponse:
    """Every account the person sees, one line each, with the overview's figures and a totals line."""
    accounts = overview_accounts(request.user)
    figures = stored_figures_of_rows(accounts)
    rows = account_csv_rows(accounts, figures)
    return csv_response(f"accounts-{timezone.now():%Y%m%d-%H%M}.csv", ACCOUNT_CSV_COLUMNS, rows)
