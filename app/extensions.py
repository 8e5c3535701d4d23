"""The Flask extensions, created once and bound to each app by the factory."""

from __future__ import annotations

from flask_mail import Mail
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect

from models.base import db

migrate = Migrate(compare_type=True, render_as_batch=True)
mail = Mail()
csrf = CSRFProtect()

__all__ = ["csrf", "db", "mail", "migrate"]
