"""``flask econtacts ...``: the command group. Each command lives with what it works on
(``app.fab.cli``, ``app.dev.cli``, ``app.retention.cli``, ``app.steering.cli``, ``jobs.cli``); the
factory lists them here. Each command commits once."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup


def register_cli(app: Flask, *commands: click.Command) -> None:
    """Add the ``econtacts`` group, holding ``commands``, to the app's ``flask`` command."""
    group = AppGroup("econtacts", help="e-contacts: set-up and maintenance.")
    for command in commands:
        group.add_command(command)
    app.cli.add_command(group)
