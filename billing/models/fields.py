"""Column types shared by the portal's tables."""

from typing import Any

from django.db import models


def money_field(**kwargs: Any) -> models.DecimalField:
    # Six places keep usage in fractions of a cent exact; 20 digits leave room for any real balance.
    return models.DecimalField(max_digits=20, decimal_places=6, **kwargs)
