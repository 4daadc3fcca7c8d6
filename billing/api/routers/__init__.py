"""One router per area of the API; `billing/api/app.py` mounts each (ROUTERS)."""
