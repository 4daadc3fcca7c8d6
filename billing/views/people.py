"""People (admins of an account for that account, superusers for all): the people page with the invitation
form, a person's roles, giving or changing a role and removing access (one POST each), and accepting an
invitation (public: the link is the credential)."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template import engines
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from billing.forms.people import AccountForm, InviteForm, NewPersonForm, RoleForm
from billing.models import Role
from billing.people import access, directory, invitations
from billing.permissions import AuthenticatedHttpRequest, administered_accounts, sudo_required
from billing.views.common import client_ip


def _admin_accounts(request: AuthenticatedHttpRequest):
    accounts = administered_accounts(request.user).order_by("name")
    if not request.user.is_superuser and not accounts.exists():
        raise Http404("No such page.")
    return accounts


def people(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Everyone with a role on the admin's accounts, pending invitations, and the invitation form."""
    accounts = _admin_accounts(request)
    form = InviteForm(request.POST or None, accounts=accounts)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        invitations.invite(
            request.user, data["email"], data["account"], data["role"], ip_address=client_ip(request)
        )
        messages.success(request, f"Invitation sent to {data['email']} for {data['account'].name}.")
        return redirect("people")
    return render(
        request,
        "billing/people/list.html",
        {
            "rows_html": _rows_html(directory.people_rows(request.user)),
            "invitations": directory.pending_invitations(request.user),
            "form": form,
            "valid_hours": settings.INVITATION_VALID_HOURS,
        },
    )


def _rows_html(rows: list[dict]) -> SafeString:
    """The table's rows, rendered by the Jinja2 template (autoescaped, so its output is safe to insert)."""
    return mark_safe(engines["jinja2"].get_template("billing/people_rows.html").render({"rows": rows}))  # noqa: S308


def person(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    accounts = _admin_accounts(request)
    shown = directory.person_for(request.user, pk)
    return render(
        request,
        "billing/people/person.html",
        {
            "person": shown,
            "roles": Role.choices,
            "is_self": shown.pk == request.user.pk and not request.user.is_superuser,
            "add_form": RoleForm(accounts=directory.accounts_without(request.user, shown)),
            "has_accounts": accounts.exists(),
        },
    )


def _valid_form(request: AuthenticatedHttpRequest, form_class: type[AccountForm]) -> AccountForm | None:
    """The POSTed form when valid; else None, with what was wrong said as a message."""
    form = form_class(request.POST, accounts=_admin_accounts(request))
    if form.is_valid():
        return form
    messages.error(request, form.messages())
    return None


@sudo_required  # roles grant access: a stolen session must not hand them out
@require_POST
@never_cache
def person_role(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Gives the person a role on one of the admin's accounts, or changes the one they have."""
    shown = directory.person_for(request.user, pk)
    form = _valid_form(request, RoleForm)
    if form is not None:
        account, role = form.cleaned_data["account"], form.cleaned_data["role"]
        try:
            changed = access.set_role(request.user, shown, account, role, ip_address=client_ip(request))
        except access.AccessChangeRefused as refused:
            messages.error(request, str(refused))
        else:
            label = Role(role).label.lower()
            what = f"is now {label} of" if changed else f"was already {label} of"
            messages.success(request, f"{shown.get_username()} {what} {account.name}.")
    return redirect("person", pk=shown.pk)


@sudo_required
@require_POST
@never_cache
def person_remove(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Removes the person's role on one of the admin's accounts; they are signed out everywhere at once."""
    shown = directory.person_for(request.user, pk)
    form = _valid_form(request, AccountForm)
    if form is not None:
        account = form.cleaned_data["account"]
        try:
            removed = access.remove_access(request.user, shown, account, ip_address=client_ip(request))
        except access.AccessChangeRefused as refused:
            messages.error(request, str(refused))
        else:
            if removed:
                messages.success(request, f"{shown.get_username()} no longer has access to {account.name}.")
        if directory.people_for(request.user).filter(pk=shown.pk).exists():
            return redirect("person", pk=shown.pk)
    return redirect("people")


def _unusable(request: HttpRequest, why: str, status: int = 410) -> HttpResponse:
    return render(request, "billing/people/invitation_unusable.html", {"why": why}, status=status)


@login_not_required
@never_cache
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    """The emailed link: a new person chooses a username and password; someone who already has a log-in
    with that address accepts signed in as themselves."""
    try:
        invitation = invitations.usable(token)
    except invitations.InvitationUnusable as unusable:
        return _unusable(request, str(unusable))
    existing = invitations.existing_person(invitation)
    if existing is not None:
        return _accept_signed_in(request, invitation, existing)
    form = NewPersonForm(request.POST or None, instance=invitations.new_person_draft(invitation))
    if request.method == "POST" and form.is_valid():
        try:
            invitations.accept_as_new(
                invitation,
                form.cleaned_data["username"],
                form.cleaned_data["password1"],
                ip_address=client_ip(request),
            )
        except invitations.InvitationUnusable as unusable:
            return _unusable(request, str(unusable))
        messages.success(request, f"Welcome: you have access to {invitation.account.name}. Sign in to start.")
        return redirect("login")
    return render(request, "billing/people/accept.html", {"invitation": invitation, "form": form})


def _accept_signed_in(request: HttpRequest, invitation, existing) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if request.user.pk != existing.pk:
        why = f"This invitation is for {invitation.email}: sign out and sign in as that person to accept it."
        return _unusable(request, why, status=403)
    if request.method == "POST":
        try:
            invitations.accept(invitation, existing, ip_address=client_ip(request))
        except invitations.InvitationUnusable as unusable:
            return _unusable(request, str(unusable))
        messages.success(request, f"You now have access to {invitation.account.name}.")
        return redirect("account", account_id=invitation.account.cloudflare_id)
    return render(request, "billing/people/accept.html", {"invitation": invitation, "form": None})
