"""The monthly budget: dollars in, integer cents out; empty removes it."""

from django import forms

from billing.forms.fields import DollarsField

# The portal's own bounds: a budget under a dollar says nothing, and ten million a month is past any account.
BUDGET_MIN_CENTS = 100
BUDGET_MAX_CENTS = 10_000_000 * 100


class BudgetForm(forms.Form):
    amount = DollarsField(
        label="Monthly budget",
        required=False,
        min_cents=BUDGET_MIN_CENTS,
        max_cents=BUDGET_MAX_CENTS,
        help_text="Dollars per UTC month of billed usage, at least $1.00. Leave empty to remove the budget.",
    )
