"""Every form of the portal, one module per family: validation only. People type dollars; cleaned data carries
integer cents (or Decimal dollars where Cloudflare's unit is dollars). No form calls the API."""
