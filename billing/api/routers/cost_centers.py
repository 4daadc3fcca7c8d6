"""/accounts/{id}/cost-centers: the account's cost centers, as the cost centers page lists them."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema

from billing.api.auth import account_of
from billing.models import CostCenter

router = Router(tags=["cost centers"])


class CostCenterOut(Schema):
    name: str
    gateways: list[str]  # gateway ids
    only_models: list[str]  # empty: every model
    only_providers: list[str]  # empty: every provider


@router.get("/accounts/{account_id}/cost-centers", response=list[CostCenterOut], summary="Cost centers")
def cost_centers(request: HttpRequest, account_id: str) -> list[CostCenterOut]:
    account = account_of(request, account_id)
    return [
        CostCenterOut(
            name=center.name,
            gateways=center.gateways,
            only_models=center.only_models,
            only_providers=center.only_providers,
        )
        for center in CostCenter.objects.filter(account=account)
    ]
