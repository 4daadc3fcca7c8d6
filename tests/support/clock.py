"""The moment every test that runs in this process alone starts at (tests/conftest.py moves the clock there).

Mid-morning, mid-week and mid-month, in UTC: far from the boundaries of an hour, a day, a week and a month, so
a test's data and the figures read from it always fall in the same ones.
"""

from datetime import UTC, datetime

SUITE_NOW = datetime(2026, 3, 18, 10, 20, tzinfo=UTC)
