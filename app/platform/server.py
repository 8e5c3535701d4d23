"""gunicorn's own error pages, in French.

gunicorn answers some requests before the app sees them (a request line or headers too long,
a malformed request) with an English page that repeats what was sent. ``FrenchThreadWorker`` (the
worker ``make run`` and docs/operations.md start) writes those in French, without echoing the
request: 414 "Adresse trop longue", 431 "En-têtes trop volumineux", 400 otherwise.
"""

from __future__ import annotations

import html
from typing import Any

from gunicorn import util
from gunicorn.workers.gthread import ThreadWorker

REASONS = {
    400: ("Bad Request", "Requête incorrecte", "La demande envoyée n'a pas pu être comprise."),
    403: ("Forbidden", "Accès refusé", "Cette demande n'est pas autorisée."),
    414: (
        "URI Too Long",
        "Adresse trop longue",
        "L'adresse demandée est trop longue pour être traitée.",
    ),
    417: ("Expectation Failed", "Requête incorrecte", "La demande ne peut pas être satisfaite."),
    431: (
        "Request Header Fields Too Large",
        "En-têtes trop volumineux",
        "Les en-têtes de la demande sont trop volumineux : videz les cookies de ce site "
        "puis réessayez.",
    ),
    500: (
        "Internal Server Error",
        "Erreur inattendue",
        "Une erreur est survenue. Rien de ce que vous aviez enregistré n'est perdu.",
    ),
    501: ("Not Implemented", "Requête incorrecte", "Ce type d'envoi n'est pas pris en charge."),
}


def write_error_in_french(sock: Any, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn's ``util.write_error``, in French, echoing nothing of the request."""
    english, title, text = REASONS.get(status_int, REASONS[400])
    page = (
        '<!doctype html>\n<html lang="fr">\n<head><meta charset="utf-8">'
        f"<title>{html.escape(title)} – e-contacts</title></head>\n"
        f"<body><h1>{html.escape(title)}</h1><p>{html.escape(text)}</p></body>\n</html>\n"
    ).encode()
    head = (
        f"HTTP/1.1 {status_int} {english}\r\nConnection: close\r\n"
        f"Content-Type: text/html; charset=utf-8\r\nContent-Language: fr\r\n"
        f"Content-Length: {len(page)}\r\n\r\n"
    ).encode("latin-1")
    util.write_nonblock(sock, head + page)


class FrenchThreadWorker(ThreadWorker):
    """gunicorn's threaded worker (``--threads``) whose own error pages are in French."""

    def init_process(self) -> None:
        util.write_error = write_error_in_french
        super().init_process()
