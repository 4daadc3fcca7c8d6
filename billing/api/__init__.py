"""The read-only API under /api/v1/ (django-ninja): personal access tokens, their rate limit, one router
per area. Reads go through `billing/figures/` and the models, as the pages' do."""
