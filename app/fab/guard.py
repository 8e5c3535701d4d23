"""Malformed requests get a 404 or a 400, never a 500 (found by ``tests/test_fuzz_forms.py``).

Flask-AppBuilder's generic ModelView routes trust their URL:

- ``/<view>/action/<name>/<pk>`` and ``/<view>/action_post`` look the action up with
  ``self.actions.get(name).func`` (an ``AttributeError`` for an unknown name), before any
  permission check, then call it with whatever ``datamodel.get`` returns (``None`` for a missing
  row), and with one row even for an action made for a list (``copyrole`` iterates it);
- ``/<view>/download/<filename>`` hands ``UPLOAD_FOLDER/filename`` to ``send_file``, which raises
  when the file does not exist (or when no upload folder is configured);
- a POST to ``/resetpassword/form`` resets the password of the user ``?pk=``, and crashes on
  ``None.password`` when that user does not exist (or no ``pk`` is given).

One ``before_request`` hook answers 404 for those requests, whoever asks (an unknown action, a
missing file or user exists for nobody). The rest, the permission check included, stays FAB's.

An ``int`` URL converter bounded to SQL's INTEGER, the type of every primary key: a larger number
in a URL (``/agent/demandes/2147483648``) no longer reaches the database (PostgreSQL's "integer
out of range", SQLite's ``OverflowError`` past 2**63), the URL simply does not match (404). It
must be installed before any route is added.

A second hook, run before every other one (Flask-WTF's CSRF check included), answers 400 for
input no person can type and the layers below cannot take:

- a multipart body with a nameless part: Werkzeug files it under the key ``None`` and Flask-WTF's
  token lookup (``key.endswith(...)``) then crashes on every POST route that lacks a token;
- a NUL byte in a form field, a file name, a query argument or a URL part: PostgreSQL text
  cannot hold one (psycopg raises ``DataError``, shown as "service unavailable").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask, abort, current_app, request
from flask_appbuilder.security.views import ResetPasswordView
from werkzeug.routing import IntegerConverter, Map
from werkzeug.security import safe_join

from app.platform.params import INTEGER_MAX, int_or_none

GUARDED = ("action", "action_post", "download")


class BoundedIntConverter(IntegerConverter):
    """Flask's ``int`` converter, with ``max`` defaulting to the largest SQL INTEGER."""

    def __init__(
        self,
        map: Map,  # noqa: A002 (Werkzeug's name)
        fixed_digits: int = 0,
        min: int | None = None,  # noqa: A002
        max: int | None = INTEGER_MAX,  # noqa: A002
        signed: bool = False,
    ) -> None:
        super().__init__(map, fixed_digits, min, max, signed)


def _view(view_endpoint: str) -> Any | None:
    """The registered FAB view whose blueprint is ``view_endpoint``."""
    appbuilder = getattr(current_app, "appbuilder", None)
    for view in getattr(appbuilder, "baseviews", ()):
        if getattr(view, "endpoint", None) == view_endpoint:
            return view
    return None


def _file_exists(filename: str) -> bool:
    folder = current_app.config.get("UPLOAD_FOLDER")
    path = safe_join(str(folder), filename) if folder else None
    return path is not None and Path(path).is_file()


def _rows_exist(view: Any, pks: list[Any]) -> bool:
    return all(view.datamodel.get(view._deserialize_pk_if_composite(pk)) for pk in pks)


def _user_exists(pk: str | None) -> bool:
    user_id = int_or_none(pk) if pk and pk.isdigit() else None
    if user_id is None:
        return False
    return current_app.appbuilder.sm.get_user_by_id(user_id) is not None  # type: ignore[attr-defined]


def _past_the_keys(value: object) -> bool:
    """A whole number no key can hold (SQLite and PostgreSQL would fail on it, not answer)."""
    text = str(value).strip()
    digits = text[1:] if text[:1] in "+-" else text
    # isascii: "¹" and other Unicode digits pass isdigit() but not int() (found by the fuzz test).
    return digits.isascii() and digits.isdigit() and abs(int(text)) > INTEGER_MAX


def check_fab_request() -> None:
    """Abort with 404 when a FAB action name is unknown, a downloaded file is missing, the user
    whose password is reset does not exist, or a row's key is past the key range (FAB's
    ``<pk>`` is a string: the ``int`` converter does not bound it)."""
    if _past_the_keys((request.view_args or {}).get("pk", "")) or any(
        _past_the_keys(pk) for pk in request.form.getlist("rowid")
    ):
        abort(404)
    endpoint = request.endpoint or ""
    view_endpoint, _, method = endpoint.rpartition(".")
    if method not in GUARDED and request.method != "POST":
        return  # neither an action, a download nor a password reset (nothing to look up)
    view = _view(view_endpoint) if view_endpoint else None
    if isinstance(view, ResetPasswordView) and request.method == "POST":
        if not _user_exists(request.args.get("pk")):
            abort(404)
        return
    if method not in GUARDED or view is None or not hasattr(view, "actions"):
        return
    args = request.view_args or {}
    if method == "action":
        action = view.actions.get(args.get("name"))
        if action is None or not action.single or not _rows_exist(view, [args.get("pk")]):
            abort(404)
    if method == "action_post":
        action = view.actions.get(request.form.get("action"))
        if action is None or not action.multiple:
            abort(404)
        if not _rows_exist(view, request.form.getlist("rowid")):
            abort(404)
    if method == "download" and not _file_exists(str(args.get("filename", ""))):
        abort(404)


def _has_nul(pairs: Any) -> bool:
    return any("\x00" in str(key) or "\x00" in str(value) for key, value in pairs)


def refuse_malformed_input() -> None:
    """Abort with 400 on a nameless form field or a NUL byte anywhere in the input."""
    if _has_nul(request.args.items(multi=True)) or _has_nul((request.view_args or {}).items()):
        abort(400)
    methods = current_app.config.get("WTF_CSRF_METHODS", ("POST", "PUT", "PATCH", "DELETE"))
    if request.method not in methods:
        return
    if None in request.form or None in request.files or _has_nul(request.form.items(multi=True)):
        abort(400)
    if _has_nul((key, file.filename) for key, file in request.files.items(multi=True)):
        abort(400)


def init_app(app: Flask) -> None:
    app.url_map.converters["int"] = BoundedIntConverter
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_malformed_input)
    app.before_request(check_fab_request)
