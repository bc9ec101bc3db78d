"""The extension point: plugins bring agents, routes, tables (with their own Alembic branch) and seed data."""

from switchboard.plugins.spec import Plugin, SeedContext

__all__ = ["Plugin", "SeedContext"]
