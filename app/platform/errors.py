"""Error pages: a clear French sentence, never a traceback."""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import Flask, Response, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable

from models.base import db

log = logging.getLogger(__name__)


def _messages() -> dict[int, tuple[str, str]]:
    return {
        400: (_("Requête incorrecte"), _("La demande envoyée n'a pas pu être comprise.")),
        401: (_("Connexion nécessaire"), _("Connectez-vous pour accéder à cette page.")),
        403: (_("Accès refusé"), _("Vous n'avez pas accès à cette page.")),
        404: (
            _("Page introuvable"),
            _("La page demandée n'existe pas ou vous n'y avez pas accès."),
        ),
        405: (_("Action impossible"), _("Cette action n'est pas possible sur cette page.")),
        409: (
            _("Enregistrement impossible"),
            _(
                "Cet enregistrement existe déjà ou en contredit un autre (un nom déjà pris, "
                "par exemple). Rien n'a été modifié."
            ),
        ),
        413: (
            _("Envoi trop volumineux"),
            _("L'ensemble des fichiers envoyés dépasse la taille autorisée."),
        ),
        422: (
            _("Requête incorrecte"),
            _("Les données envoyées ne sont pas valides : rien n'a été modifié."),
        ),
        429: (
            _("Trop de tentatives"),
            _("Trop de demandes en peu de temps. Patientez quelques minutes puis réessayez."),
        ),
        500: (
            _("Erreur inattendue"),
            _("Une erreur est survenue. Rien de ce que vous aviez enregistré n'est perdu."),
        ),
        503: (
            _("Service momentanément indisponible"),
            _("Le service est momentanément indisponible. Réessayez dans quelques instants."),
        ),
    }


def api_message(code: int) -> str:
    """The French sentence of an API error (the JSON ``message``)."""
    return str(_messages().get(code, (None, _("La demande a été refusée.")))[1])


def french_api_errors(response: Response) -> Response:
    """FAB's REST API writes its own errors in English ("Not authorized", "Not found",
    marshmallow's validation messages, Flask-JWT-Extended's "msg"): every JSON error under /api/
    says it in French."""
    if (
        request.path.startswith("/api/")
        and response.status_code >= 400
        and response.is_json
        and not response.direct_passthrough
    ):
        body = response.get_json(silent=True)
        keys = {"message", "msg"} & set(body) if isinstance(body, dict) else set()
        if isinstance(body, dict) and keys:
            # Flask-JWT-Extended says "msg", FAB "message": the French sentence in "message".
            for key in keys:
                body.pop(key)
            body["message"] = api_message(response.status_code)
            response.set_data(json.dumps(body, ensure_ascii=False))
    return response


def render_error(code: int, detail: str | None = None) -> tuple[str, int]:
    title, text = _messages().get(code, _messages()[500])
    return render_template("errors/error.html", code=code, title=title, text=detail or text), code


def init_app(app: Flask) -> None:
    app.after_request(french_api_errors)

    @app.errorhandler(CSRFError)
    def _csrf(error: CSRFError) -> tuple[str, int]:
        return render_error(
            400,
            _(
                "Le formulaire a expiré ou a déjà été envoyé. Rechargez la page et "
                "recommencez : ce que vous aviez saisi n'a pas été enregistré."
            ),
        )

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException) -> Any:
        if error.code is None or error.code < 400:
            return error
        if request.path.startswith("/api/"):
            return {"message": api_message(error.code)}, error.code
        return render_error(error.code)

    @app.errorhandler(IntegrityError)
    def _conflict(error: IntegrityError) -> tuple[str, int]:
        # A constraint refused the write (FAB's "copy role" twice, a name already taken): the
        # database is fine, the request conflicts with a row already there.
        log.warning("Write refused by a constraint on %s: %s", request.path, error.orig)
        db.session.rollback()
        return render_error(409)

    @app.errorhandler(OperationalError)
    @app.errorhandler(DBAPIError)
    def _database(error: Exception) -> tuple[str, int]:
        log.error("Database unavailable: %s", error)
        db.session.rollback()
        return render_error(ServiceUnavailable.code)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> tuple[str, int]:
        log.exception("Unexpected error on %s", request.path)
        db.session.rollback()
        return render_error(InternalServerError.code)
