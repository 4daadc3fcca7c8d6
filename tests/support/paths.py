"""Where things are: the repository's root, for tests that read its files or start its commands."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
