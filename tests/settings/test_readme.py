"""The README tells the truth: every file it links exists, and the figures it quotes are the code's."""

import re
from itertools import accumulate

from django.conf import settings

from billing.operations import topups
from tests.support.paths import ROOT

README = (ROOT / "README.md").read_text()


def test_every_file_the_readme_links_exists():
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", README)
    local = [t for t in targets if not t.startswith(("http://", "https://", "mailto:"))]
    assert local, "the README links no local file at all?"
    missing = [t for t in local if not (ROOT / t).exists()]
    assert missing == []


def test_the_readme_names_no_design_file_that_is_not_in_the_repository():
    for name in re.findall(r"`?([A-Z]+\.md)`?", README):
        assert (ROOT / name).exists() or any(ROOT.rglob(name)), name


def test_the_hourly_history_the_readme_quotes_is_the_default():
    assert f"{settings.USAGE_BACKFILL_DAYS} days of daily usage" in README
    assert f"{settings.USAGE_BACKFILL_HOURS_DAYS} days of hourly usage" in README


def test_when_the_demo_asks_about_a_top_up_is_what_the_follow_up_does():
    first_three = list(accumulate(topups.FOLLOW_GAPS_SECONDS[:3]))
    assert "the portal asks {}, {} and {} seconds after sending".format(*first_three) in " ".join(
        README.split()
    )
