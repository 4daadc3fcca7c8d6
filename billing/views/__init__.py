"""Pages. Browsing pages read local tables only; form submits go through `billing.operations`."""
