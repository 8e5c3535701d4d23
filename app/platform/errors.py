"""Error pages: a clear French sentence, never a traceback."""

from __future__ import annotations

import contextlib
import json
import logging
from typing import Any

import redis
from flask import Flask, Response, current_app, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, PendingRollbackError
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


# The last resort, if even the error template cannot render: plain French, no lookup at all.
_BARE_PAGE = (
    '<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>{title}</title></head>'
    '<body><main><h1>{title}</h1><p>{text}</p><p><a href="/">Page d\'accueil</a></p></main>'
    "</body></html>"
)


def render_error(code: int, detail: str | None = None) -> tuple[str, int]:
    """The French error page. Rendered without the context processors (they look up the
    signed-in taxpayer or agent: the database or Redis that just failed), so that it renders
    whatever is down; the page then shows no one as signed in."""
    title, text = _messages().get(code, _messages()[500])
    context = {"code": code, "title": title, "text": detail or text}
    try:
        return render_template_without_lookups("errors/error.html", **context), code
    except Exception:  # the page must come out whatever fails
        log.exception("The error page could not render")
        return _BARE_PAGE.format(title=escape(title), text=escape(detail or text)), code


def render_template_without_lookups(name: str, **context: Any) -> str:
    """Render a template with what it needs from the request passed explicitly, and none of the
    app's context processors (signed-in user, FAB's menus, settings from the database)."""
    safe: dict[str, Any] = {
        "request": request,
        "current_taxpayer": None,
        "current_user": None,
        "demo_mode": bool(current_app.config.get("DEMO_MODE")),
        "get_flashed_messages": lambda **_kwargs: [],
    }
    safe.update(context)
    return current_app.jinja_env.get_template(name).render(safe)


def _remove_session_quietly(_error: BaseException | None = None) -> None:
    """Flask-SQLAlchemy's end of request, made unable to fail: closing the session rolls back,
    and on a connection the database just dropped that raises *after* the page was built, which
    gunicorn turns into its own bare 500. The connection is invalidated; the page stands."""
    try:
        db.session.remove()
    except DBAPIError as error:
        log.warning("Session closed on a lost database connection: %s", error.orig)
        db.session.registry.clear()


def init_app(app: Flask) -> None:
    app.after_request(french_api_errors)
    # Replace Flask-SQLAlchemy's teardown (registered by db.init_app) by the one that cannot fail.
    app.teardown_appcontext_funcs[:] = [
        _remove_session_quietly if func == db._teardown_session else func
        for func in app.teardown_appcontext_funcs
    ]

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
    @app.errorhandler(PendingRollbackError)  # a connection lost in the middle of a transaction
    def _database(error: Exception) -> tuple[str, int]:
        log.error("Database unavailable: %s", error)
        with contextlib.suppress(Exception):  # the connection may be gone with the database
            db.session.rollback()
        return render_error(ServiceUnavailable.code)

    @app.errorhandler(redis.RedisError)
    def _redis(error: Exception) -> tuple[str, int]:
        log.error("Redis unavailable on %s: %s", request.path, error)
        return render_error(ServiceUnavailable.code)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> tuple[str, int]:
        log.exception("Unexpected error on %s", request.path)
        with contextlib.suppress(Exception):
            db.session.rollback()
        return render_error(InternalServerError.code)
