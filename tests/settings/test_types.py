"""The type checking that `make test` runs: billing/cloudflare/ is checked as `mypy --strict` checks, the rest
of the portal with the project's own (lighter) settings, read from pyproject.toml as mypy reads them."""

import pytest
from mypy.config_parser import parse_config_file
from mypy.main import define_options
from mypy.options import Options

from tests.support.paths import ROOT

STRICT_FLAGS = define_options()[2]  # (option, value) pairs that `mypy --strict` sets


def options_for(module: str) -> Options:
    options = Options()

    def set_strict_flags() -> None:  # what `strict = true` does anywhere in the file: all modules
        for name, value in STRICT_FLAGS:
            setattr(options, name, value)

    parse_config_file(options, set_strict_flags, str(ROOT / "pyproject.toml"))
    return options.clone_for_module(module)


@pytest.mark.parametrize(
    "module", ["billing.cloudflare", "billing.cloudflare.client", "billing.cloudflare.results.wire"]
)
def test_the_cloudflare_package_is_checked_with_every_strict_flag(module):
    options = options_for(module)
    assert {name: getattr(options, name) for name, _ in STRICT_FLAGS} == dict(STRICT_FLAGS)


def test_strictness_stays_in_the_cloudflare_package():
    options = options_for("billing.views.account")
    assert options.disallow_untyped_defs is False
    assert options.check_untyped_defs is True
