"""What the tests share, one home each (tests/conftest.py registers the fixture modules):

- `people_fixtures`: accounts and named people with their roles; `login`, `PASSWORD`.
- `sandbox_fixtures`: the Cloudflare sandbox (`sandbox`, `sandbox_demo`, `sandbox_api`), the portal pointed at
  it (`cloudflare`; `own_cloudflare` for latency faults), `ACCOUNT`, `VISA`, `fund()`, `to_next_hour()`, and
  `api_requests()`, the one way to read its request log.
- `sync_fixtures`: accounts in the sandbox for the sync tests; sync on one thread.
- `worker_fixtures`: a real Celery worker and beat on Redis, `eager_tasks`.
- `browser_fixtures`: headless Chromium (`tab`), `log_in()`, `shoot()`.
- `smtp_sink` (`smtp_server`) and `http_receiver` (`receiver`): real receivers on loopback.
- `history`: local rows as the sync jobs leave them: `snapshot()`, `failed_sync()`, `day_usage()`,
  `seed_history()`.
- `alerts`: alert rules and their delivery: `only_rule()`, `deliver()`, `rule_form()`, `RULE_POST`;
  `alert_scenarios`: the data that opens, escalates and resolves each alert kind.
- `local_cloudflare`: a local server answering the client from a script.
- `clock`: `SUITE_NOW` (when every in-process test starts), `MachineClock` (a monotonic clock the test moves),
  `wait_for()` (a bounded poll of another process).
- `paths`: `ROOT`, the repository.

A test module never imports another test module: what two of them need lives here.
"""
