from django.urls import include, path

from billing.views import (
    account,
    alerts,
    audit,
    auto_topup,
    gateways,
    invoices,
    overview,
    refresh,
    spending_limit,
    topups,
    usage,
)

account_patterns = [
    path("", account.account_detail, name="account"),
    path("usage/", usage.usage, name="usage"),
    path("invoices/", invoices.invoices, name="invoices"),
    path("invoices/upcoming/", invoices.invoice_upcoming, name="invoice_upcoming"),
    path("topups/", topups.topups, name="topups"),
    path("topups/new/", topups.topup_new, name="topup_new"),
    path("topups/confirm/", topups.topup_confirm, name="topup_confirm"),
    path("topups/<int:pk>/", topups.topup_detail, name="topup_detail"),
    path("topups/<int:pk>/check/", topups.topup_check, name="topup_check"),
    path("auto-topup/", auto_topup.auto_topup, name="auto_topup"),
    path("auto-topup/remove/", auto_topup.auto_topup_remove, name="auto_topup_remove"),
    path("spending-limit/", spending_limit.spending_limit, name="spending_limit"),
    path("spending-limit/remove/", spending_limit.spending_limit_remove, name="spending_limit_remove"),
    path("gateways/", gateways.gateways, name="gateways"),
    path("gateways/breakdown/", gateways.gateway_breakdown, name="gateway_breakdown"),
    path("refresh/", refresh.refresh, name="refresh"),
    path("alerts/", alerts.account_alerts, name="account_alerts"),
    path("alerts/<str:kind>/", alerts.account_rule_edit, name="account_alert_rule"),
    path("alerts/<str:kind>/reset/", alerts.account_rule_reset, name="account_alert_rule_reset"),
]

urlpatterns = [
    path("", overview.overview, name="overview"),
    path("accounts/<str:account_id>/", include(account_patterns)),
    path("audit/", audit.audit_log, name="audit"),
    path("alerts/", alerts.alert_history, name="alert_history"),
    path("alerts/outbox/", alerts.outbox, name="alert_outbox"),
    path("alerts/outbox/<int:pk>/retry/", alerts.outbox_retry, name="alert_outbox_retry"),
    path("alerts/test-email/", alerts.send_test_email, name="alert_test_email"),
    path("alerts/mail/", alerts.mail_files, name="alert_mail_files"),
    path("alerts/mail/<str:name>/", alerts.mail_file, name="alert_mail_file"),
    path("alerts/rules/", alerts.default_rules, name="alert_defaults"),
    path("alerts/rules/<str:kind>/", alerts.default_rule_edit, name="alert_default_edit"),
]
