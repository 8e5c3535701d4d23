"""The taxpayer's forms (Flask-WTF: CSRF on every one)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length, Regexp


class LoginForm(FlaskForm):
    identifier = StringField(
        _l("Numéro fiscal (13 chiffres) ou SIREN (9 chiffres)"),
        validators=[
            DataRequired(_l("Saisissez votre numéro fiscal ou votre SIREN.")),
            Regexp(
                r"^\s*(\d\s*){9}$|^\s*(\d\s*){13}$",
                message=_l("Saisissez 13 chiffres (numéro fiscal) ou 9 chiffres (SIREN)."),
            ),
        ],
    )
    password = PasswordField(
        _l("Mot de passe"),
        validators=[
            DataRequired(_l("Saisissez votre mot de passe.")),
            Length(max=200),
        ],
    )

    @property
    def normalised_identifier(self) -> str:
        return "".join(ch for ch in (self.identifier.data or "") if ch.isdigit())
