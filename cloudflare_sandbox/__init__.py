"""A faithful, stateful stand-in for Cloudflare's AI Gateway billing API (see README.md beside this file).

Standard library only; it imports nothing from the portal.
"""

from .seed import DEMO_ACCOUNTS
from .server import DEFAULT_TOKEN, SandboxServer

__all__ = ["DEFAULT_TOKEN", "DEMO_ACCOUNTS", "SandboxServer"]
