"""The taxpayer's account forms (Flask-WTF: CSRF on every one).

The new-case and reply forms are parsed in ``views.taxpayer.cases`` (their topic list has
groups and their CSRF failure must keep the text).
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    PasswordField,
    RadioField,
    SelectChoice,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional, Regexp

from app.platform.passwords import PasswordPolicy
from app.taxpayers.accounts import PASSWORD_MAX
from models import TaxpayerKind

_IDENTIFIER = Regexp(
    r"^\s*(\d\s*){9}$|^\s*(\d\s*){13}$",
    message=_l("Saisissez 13 chiffres (numéro fiscal) ou 9 chiffres (SIREN)."),
)


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _digits(value: Any) -> Any:
    return "".join(ch for ch in value if ch.isdigit()) if isinstance(value, str) else value


class IdentifierMixin:
    identifier: StringField

    @property
    def normalised_identifier(self) -> str:
        return "".join(ch for ch in (self.identifier.data or "") if ch.isdigit())


class LoginForm(IdentifierMixin, FlaskForm):
    identifier = StringField(
        _l("Numéro fiscal (13 chiffres) ou SIREN (9 chiffres)"),
        validators=[DataRequired(_l("Saisissez votre numéro fiscal ou votre SIREN.")), _IDENTIFIER],
    )
    password = PasswordField(
        _l("Mot de passe"),
        validators=[DataRequired(_l("Saisissez votre mot de passe.")), Length(max=PASSWORD_MAX)],
    )


class CodeForm(FlaskForm):
    code = StringField(
        _l("Code reçu par courriel"),
        filters=[_digits],
        validators=[
            DataRequired(_l("Saisissez le code à 6 chiffres reçu par courriel.")),
            Regexp(r"^\d{6}$", message=_l("Le code est composé de 6 chiffres.")),
        ],
    )


def _new_password(label: Any) -> PasswordField:
    """A new password: the one policy (app.platform.passwords); the identifier is the form's own
    field or, on the reset form, set by the view (``password_identifiers``)."""
    return PasswordField(
        label,
        validators=[
            DataRequired(_l("Choisissez un mot de passe.")),
            PasswordPolicy("identifier", "email"),
        ],
    )


def _confirm_password() -> PasswordField:
    return PasswordField(
        _l("Confirmez le mot de passe"),
        validators=[
            DataRequired(_l("Saisissez le mot de passe une seconde fois.")),
            EqualTo("password", message=_l("Les deux mots de passe ne sont pas identiques.")),
        ],
    )


def _email_field(label: Any) -> StringField:
    return StringField(
        label,
        filters=[_strip],
        validators=[
            DataRequired(_l("Saisissez votre adresse électronique.")),
            Length(max=254),
            Email(
                message=_l("Saisissez une adresse électronique valide, par exemple nom@exemple.fr.")
            ),
        ],
    )


class RegisterForm(IdentifierMixin, FlaskForm):
    kind = RadioField(
        _l("Vous êtes"),
        choices=[
            SelectChoice(TaxpayerKind.INDIVIDUAL.value, _l("Un particulier")),
            SelectChoice(TaxpayerKind.BUSINESS.value, _l("Un professionnel (entreprise)")),
        ],
        validators=[DataRequired(_l("Indiquez si vous êtes un particulier ou un professionnel."))],
    )
    identifier = StringField(
        _l("Numéro fiscal (13 chiffres) ou SIREN (9 chiffres)"),
        validators=[DataRequired(_l("Saisissez votre numéro fiscal ou votre SIREN.")), _IDENTIFIER],
    )
    access_number = StringField(
        _l("Numéro d'accès en ligne"),
        filters=[_strip],
        validators=[
            DataRequired(_l("Saisissez votre numéro d'accès en ligne.")),
            Regexp(
                r"^\d{7}$",
                message=_l("Le numéro d'accès en ligne compte 7 chiffres."),
            ),
        ],
    )
    reference_income = StringField(
        _l("Revenu fiscal de référence"),
        filters=[_strip, lambda v: "".join(v.split()) if isinstance(v, str) else v],
        validators=[
            Optional(),
            Regexp(
                r"^\d{1,12}$",
                message=_l("Saisissez le revenu fiscal de référence en euros, sans centimes."),
            ),
        ],
    )
    email = _email_field(_l("Adresse électronique"))
    password = _new_password(_l("Mot de passe"))
    password_confirm = _confirm_password()

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        digits = self.normalised_identifier
        if self.kind.data == TaxpayerKind.INDIVIDUAL.value and digits and len(digits) != 13:
            self.identifier.errors = [
                *self.identifier.errors,
                str(_l("Un particulier se connecte avec son numéro fiscal de 13 chiffres.")),
            ]
            ok = False
        if self.kind.data == TaxpayerKind.BUSINESS.value and digits and len(digits) != 9:
            self.identifier.errors = [
                *self.identifier.errors,
                str(_l("Un professionnel se connecte avec son SIREN de 9 chiffres.")),
            ]
            ok = False
        if self.kind.data == TaxpayerKind.INDIVIDUAL.value and not self.reference_income.data:
            self.reference_income.errors = [
                *self.reference_income.errors,
                str(_l("Saisissez le revenu fiscal de référence de votre dernier avis d'impôt.")),
            ]
            ok = False
        return ok

    @property
    def income(self) -> int | None:
        """The reference tax income given (individuals), in euros."""
        value = self.reference_income.data
        if self.kind.data != TaxpayerKind.INDIVIDUAL.value or not value or not value.isdigit():
            return None
        return int(value)


class ForgotPasswordForm(IdentifierMixin, FlaskForm):
    identifier = StringField(
        _l("Numéro fiscal (13 chiffres) ou SIREN (9 chiffres)"),
        validators=[DataRequired(_l("Saisissez votre numéro fiscal ou votre SIREN.")), _IDENTIFIER],
    )


class ResetPasswordForm(FlaskForm):
    password_identifiers: list[str | None] = []
    password = _new_password(_l("Nouveau mot de passe"))
    password_confirm = _confirm_password()


class EmailChangeForm(FlaskForm):
    email = _email_field(_l("Nouvelle adresse électronique"))
    current_password = PasswordField(
        _l("Votre mot de passe actuel"),
        validators=[DataRequired(_l("Saisissez votre mot de passe.")), Length(max=PASSWORD_MAX)],
    )


class PasswordChangeForm(FlaskForm):
    # Names of their own: the e-mail form of the same page has a "current_password" too.
    old_password = PasswordField(
        _l("Votre mot de passe actuel"),
        validators=[DataRequired(_l("Saisissez votre mot de passe.")), Length(max=PASSWORD_MAX)],
    )
    new_password = _new_password(_l("Nouveau mot de passe"))
    new_password_confirm = PasswordField(
        _l("Confirmez le nouveau mot de passe"),
        validators=[
            DataRequired(_l("Saisissez le mot de passe une seconde fois.")),
            EqualTo("new_password", message=_l("Les deux mots de passe ne sont pas identiques.")),
        ],
    )


class WithdrawForm(FlaskForm):
    reason = TextAreaField(
        _l("Pourquoi retirez-vous votre demande ? (facultatif)"),
        filters=[_strip],
        validators=[Optional(), Length(max=2000)],
    )


class PreferencesForm(FlaskForm):
    notify_by_email = BooleanField(
        _l("Me prévenir par courriel quand un nouveau message m'attend"), validators=[Optional()]
    )
