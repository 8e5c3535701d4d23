"""The agents' login forms (French labels; the field names are a contract with the tests:
``username``, ``password``, then ``otp``)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length


class AgentLoginForm(FlaskForm):
    username = StringField(
        _l("Identifiant"),
        validators=[DataRequired(message=_l("Saisissez votre identifiant.")), Length(max=128)],
    )
    password = PasswordField(
        _l("Mot de passe"),
        validators=[DataRequired(message=_l("Saisissez votre mot de passe.")), Length(max=256)],
    )


class OtpForm(FlaskForm):
    otp = StringField(
        _l("Code à 6 chiffres"),
        validators=[
            DataRequired(message=_l("Saisissez le code à 6 chiffres.")),
            Length(max=16, message=_l("Le code comporte 6 chiffres.")),
        ],
    )


class EndSessionsForm(FlaskForm):
    """No field: the CSRF token is the whole form."""
