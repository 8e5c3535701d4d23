"""``flask econtacts sync-roles``: FAB's permissions, synced from the roles declared as data."""

from __future__ import annotations

import click
from flask import current_app


@click.command("sync-roles")
def sync_roles_command() -> None:
    """Create FAB permissions for every screen and give each role exactly its own."""
    current_app.appbuilder.sm.sync_roles()  # type: ignore[attr-defined]
    click.echo("Roles and permissions synced.")
