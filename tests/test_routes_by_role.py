"""Every route of the URL map, with every method, as every role, against objects that belong to
someone else: the expected outcome of each (rule, method, role) is written in ``TABLE``.

The test FAILS when a rule of ``app.url_map`` has no row (so a new route cannot escape), when a row
names a rule that no longer exists, and when an outcome differs from the table.

How it runs: for each rule, fresh objects are made (a case of office A for taxpayer A with a
message and an attachment, a reply template of office A, a topic, a tax matter, a routing rule,
an office, an agent, a failed alert...), the URL parameters are replaced by them (``_values``), and
each role calls the URL in the order of ``ROLES`` (those who do not own the objects first, so that
an owner's action, e.g. closing the case, cannot hide what a stranger could do). POSTs carry a
valid CSRF token and an empty form: a role that may act gets the form back with its errors (or
the action done for actions without fields); a role that may not gets 404/403 or the login page.

Outcomes (``_outcome``): ``ok`` 2xx; ``done`` a redirect elsewhere than a login page (the action
was done, or a page sends on); ``login`` a redirect to a login page (not signed in, or FAB's
"access denied" which redirects to its login); ``no`` 403/404 (the object does not exist for
this role); ``bad`` 400 (bad form); ``405``. A 500 always fails.

How to add a row: add the rule and its methods to ``TABLE`` with one outcome per role, in the
order of ``ROLES``:

    ("/agent/demandes/<int:case_id>", "GET"): row(anon="login", tp_a="login", tp_b="login",
        agent_a="ok", agent_b="no", manager="ok", steering="login", admin="login"),

``row(...)`` takes a default for every role (``row("login", agent_a="ok")``). If the rule has a
new URL parameter, teach ``_values`` what object to put there. Run with ``ROUTE_TABLE_DUMP=1`` to
print the observed outcome of every pair (as rows) before deciding what is *expected*; never copy
an outcome you cannot justify.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from factories import (
    World,
    make_agent,
    make_case,
    make_office,
    make_tax_matter,
    make_topic,
    office_kind,
)
from flask import Flask
from flask.testing import FlaskClient
from helpers import clear_rate_limits, session_csrf_token, sign_in_as
from werkzeug.routing import Rule

from app.cases.attachments import path_of
from app.correspondents import operations as report_operations
from models import (
    Agent,
    AgentNotice,
    Attachment,
    AuthorKind,
    InboundEmail,
    InboundStatus,
    KindCode,
    Mailbox,
    MailboxStatus,
    Message,
    NoticeKind,
    Notification,
    NotificationKind,
    NotificationStatus,
    OfficeKind,
    ReplyTemplate,
    RetentionRun,
    RoutingRule,
    Tag,
    db,
    utcnow,
)

ROLES = ("anon", "tp_b", "agent_b", "steering", "tp_a", "agent_a", "manager", "admin")
SKIPPED_PREFIXES = ("/static/", "/appbuilder/static/")  # files, no access rule


def row(default: str | None = None, **outcomes: str) -> dict[str, str]:
    unknown = set(outcomes) - set(ROLES)
    assert not unknown, unknown
    values = {role: outcomes.get(role, default) for role in ROLES}
    assert None not in values.values(), f"missing roles in {outcomes}"
    return values  # type: ignore[return-value]


# One row per (rule, method); outcomes per role. Reviewed: on objects of office A / taxpayer A,
# agent B, taxpayer B and the steering user of the other directorate get "no" or "login",
# never "ok"/"done"; administrators do not read cases (they are not agents of an office).
TABLE: dict[tuple[str, str], dict[str, str]] = {
    ("/accessibilite", "GET"): row("ok"),
    ("/", "GET"): row("ok"),
    # Steering users land on their figures (issue 16); administrators on their home (outbox).
    ("/agent/", "GET"): row("ok", anon="login", tp_b="login", tp_a="login", steering="done"),
    ("/agent/avis/", "GET"): row("ok", anon="login", tp_b="login", steering="no", tp_a="login"),
    ("/agent/avis/<int:notice_id>/ouvrir", "POST"): row(
        "no", anon="login", tp_b="login", tp_a="login", agent_a="done"
    ),
    ("/agent/avis/preferences", "POST"): row(
        "done", anon="login", tp_b="login", steering="no", tp_a="login", admin="no"
    ),
    ("/agent/avis/tout-lire", "POST"): row(
        "done", anon="login", tp_b="login", steering="no", tp_a="login"
    ),
    # The recorder's read-only page: the target is an online case of office A (not a contact
    # anyone recorded), so A's agents are sent to its case page; B has nothing there.
    ("/agent/contacts/<int:case_id>", "GET"): row("no", agent_a="done", manager="done"),
    ("/agent/contacts/<int:case_id>/rattacher", "GET"): row("no", agent_a="ok", manager="ok"),
    ("/agent/contacts/<int:case_id>/rattacher", "POST"): row("no"),
    ("/agent/contacts/nouveau", "GET"): row("no", agent_b="ok", agent_a="ok", manager="ok"),
    ("/agent/contacts/nouveau", "POST"): row("no", agent_b="ok", agent_a="ok", manager="ok"),
    # The training space (issue 19): agents and managers train, administrators reset; outside
    # the mode an exercise sends back to the space's page ("done"). Administrators (no office)
    # do not train. Entering builds the training store, never the real tables (test_training).
    ("/agent/formation/", "GET"): row("no", agent_b="ok", agent_a="ok", manager="ok", admin="ok"),
    ("/agent/formation/entrer", "POST"): row("no", agent_b="done", agent_a="done", manager="done"),
    ("/agent/formation/quitter", "POST"): row(
        "no", agent_b="done", agent_a="done", manager="done", admin="done"
    ),
    ("/agent/formation/reinitialiser", "POST"): row("no", admin="done"),
    # The trainees' progress: administrators only (app.training.access.may_follow_progress).
    ("/agent/formation/suivi", "GET"): row("no", admin="ok"),
    ("/agent/formation/exercices/<code>", "GET"): row(
        "no", agent_b="done", agent_a="done", manager="done"
    ),
    ("/agent/formation/exercices/<code>/commencer", "POST"): row(
        "no", agent_b="done", agent_a="done", manager="done"
    ),
    ("/agent/formation/exercices/<code>/verifier", "POST"): row(
        "no", agent_b="done", agent_a="done", manager="done"
    ),
    ("/agent/demandes/", "GET"): row("ok", anon="login", tp_b="login", steering="no", tp_a="login"),
    ("/agent/demandes/<int:case_id>", "GET"): row(
        "login", agent_b="no", steering="no", agent_a="ok", manager="ok", admin="no"
    ),
    ("/agent/demandes/<int:case_id>/attribuer", "POST"): row(
        "login", agent_b="no", steering="no", agent_a="bad", manager="done", admin="no"
    ),
    ("/agent/demandes/<int:case_id>/cloturer", "POST"): row(
        "login", agent_b="no", steering="no", agent_a="bad", manager="bad", admin="no"
    ),
    # Mailbox intake (issue 19): the target is an online request of office A, so A's agents are
    # refused with a message and sent back to its page ("done"); B and the others get nothing.
    ("/agent/demandes/<int:case_id>/courriel/convertir", "POST"): row(
        "login", agent_b="no", steering="no", agent_a="done", manager="done", admin="no"
    ),
    # An empty answer: the refusal page with the draft kept (400), as for the reply form.
    ("/agent/demandes/<int:case_id>/courriel/repondre", "POST"): row(
        "login", agent_b="no", steering="no", agent_a="bad", manager="bad", admin="no"
    ),
    ("/agent/demandes/<int:case_id>/etiquettes", "POST"): row(
        "login", agent_b="no", steering="no", agent_a="bad", manager="bad", admin="no"
    ),
    ("/agent/demandes/<int:case_id>/fusionner", "POST"): row(
        "login", agent_b="no", steering="no", agent_a="bad", manager="bad", admin="no"
    ),
    ("/agent/demandes/<int:case_id>/lier", "POST"): row(
        "login", agent_b="no", steering="no", agent_a="bad", manager="bad", admin="no"
    ),
    ("/agent/demandes/<int:case_id>/note", "POST"): row(
        "login", agent_b="no", steering="no", agent_a="bad", manager="bad", admin="no"
    ),
    ("/agent/demandes/<int:case_id>/pieces-jointes/<int:attachment_id>", "GET"): row(
        "login", agent_b="no", steering="no", agent_a="ok", manager="ok", admin="no"
    ),
    ("/agent/demandes/<int:case_id>/prendre", "POST"): row(
        "login", agent_b="no", steering="no", agent_a="done", manager="done", admin="no"
    ),
    ("/agent/demandes/<int:case_id>/prendre-en-compte", "POST"): row(
        "login", agent_b="no", steering="no", agent_a="bad", manager="bad", admin="no"
    ),
    ("/agent/demandes/<int:case_id>/presence", "POST"): row(
        "login", agent_b="no", steering="no", agent_a="ok", manager="ok", admin="no"
    ),
    ("/agent/demandes/<int:case_id>/repondre", "POST"): row(
        "login", agent_b="no", steering="no", agent_a="bad", manager="bad", admin="no"
    ),
    ("/agent/demandes/<int:case_id>/rouvrir", "POST"): row(
        "login", agent_b="no", steering="no", agent_a="bad", manager="bad", admin="no"
    ),
    ("/agent/demandes/<int:case_id>/transmettre", "POST"): row(
        "login", agent_b="no", steering="no", agent_a="bad", manager="bad", admin="no"
    ),
    ("/agent/demandes/groupe/", "POST"): row(
        "done", anon="login", tp_b="login", steering="no", tp_a="login", admin="no"
    ),
    ("/agent/etiquettes/", "GET"): row(
        "no", anon="login", tp_b="login", tp_a="login", manager="ok"
    ),
    ("/agent/etiquettes/", "POST"): row(
        "no", anon="login", tp_b="login", tp_a="login", manager="bad"
    ),
    ("/agent/etiquettes/<int:tag_id>/retirer", "POST"): row(
        "no", anon="login", tp_b="login", tp_a="login", manager="done"
    ),
    # Online help (issue 19): the taxpayers' pages are public; the agents' every FAB user's.
    ("/agent/aide/", "GET"): row("ok", anon="login", tp_b="login", tp_a="login"),
    ("/agent/aide/<slug>", "GET"): row("ok", anon="login", tp_b="login", tp_a="login"),
    # Difficulty reports (issue 19). The target is a report of agent A (office A, DDFiP du
    # Rhône): A reads it, nobody here is its directorate's correspondent, so every action with
    # an empty form is refused by app.correspondents.access (400) for those who see it: A and
    # the national level (administrators, who act once it is raised).
    ("/agent/signalements/", "GET"): row("ok", anon="login", tp_b="login", tp_a="login"),
    ("/agent/signalements/<int:report_id>", "GET"): row(
        "no", anon="login", tp_b="login", tp_a="login", agent_a="ok", admin="ok"
    ),
    ("/agent/signalements/<int:report_id>/cloturer", "POST"): row(
        "no", anon="login", tp_b="login", tp_a="login", agent_a="bad", admin="bad"
    ),
    ("/agent/signalements/<int:report_id>/remonter", "POST"): row(
        "no", anon="login", tp_b="login", tp_a="login", agent_a="bad", admin="bad"
    ),
    ("/agent/signalements/<int:report_id>/repondre", "POST"): row(
        "no", anon="login", tp_b="login", tp_a="login", agent_a="bad", admin="bad"
    ),
    ("/agent/signalements/nouveau", "GET"): row("ok", anon="login", tp_b="login", tp_a="login"),
    ("/agent/signalements/nouveau", "POST"): row("bad", anon="login", tp_b="login", tp_a="login"),
    ("/agent/recherche/", "GET"): row(
        "ok", anon="login", tp_b="login", steering="no", tp_a="login"
    ),
    ("/agent/usagers/<int:taxpayer_id>/synthese", "GET"): row(
        "no", agent_b="ok", agent_a="ok", manager="ok"
    ),
    ("/aide/", "GET"): row("ok"),
    ("/aide/<slug>", "GET"): row("ok"),
    ("/api/v1/menu/", "GET"): row("no", anon="401", tp_b="401", tp_a="401", admin="ok"),
    ("/back", "GET"): row("done"),
    ("/demo/mails", "GET"): row("ok"),
    ("/demo/mails/<mail_id>", "GET"): row("no"),
    ("/espace/", "GET"): row("login", tp_b="ok", tp_a="ok"),
    ("/espace/compte", "GET"): row("login", tp_b="ok", tp_a="ok"),
    ("/espace/compte/courriel", "POST"): row("login", tp_b="bad", tp_a="bad"),
    ("/espace/compte/courriel/<token>", "GET"): row("bad"),
    ("/espace/compte/export", "GET"): row("login", tp_b="ok", tp_a="ok"),
    ("/espace/compte/export.csv", "GET"): row("login", tp_b="ok", tp_a="ok"),
    ("/espace/compte/export.pdf", "GET"): row("login", tp_b="ok", tp_a="ok"),
    ("/espace/compte/mot-de-passe", "POST"): row("login", tp_b="bad", tp_a="bad"),
    ("/espace/compte/preferences", "POST"): row("login", tp_b="done", tp_a="done"),
    ("/espace/compte/sessions", "POST"): row("login", tp_b="done", tp_a="done"),
    ("/espace/confirmation/<token>", "GET"): row("bad"),
    ("/espace/connexion", "GET"): row("ok", tp_b="done", tp_a="done"),
    ("/espace/connexion", "POST"): row("ok", tp_b="done", tp_a="done"),
    ("/espace/connexion/code", "GET"): row("login"),
    ("/espace/connexion/code", "POST"): row("login"),
    ("/espace/deconnexion", "POST"): row("done"),
    ("/espace/demandes/<reference>", "GET"): row("login", tp_b="no", tp_a="ok"),
    ("/espace/demandes/<reference>/envoyee", "GET"): row("login", tp_b="no", tp_a="ok"),
    ("/espace/demandes/<reference>/recepisse.pdf", "GET"): row("login", tp_b="no", tp_a="ok"),
    ("/espace/demandes/<reference>/repondre", "POST"): row("login", tp_b="no", tp_a="bad"),
    ("/espace/demandes/<reference>/retirer", "GET"): row("login", tp_b="no", tp_a="ok"),
    # The reason is optional: taxpayer A's empty form withdraws their unanswered case.
    ("/espace/demandes/<reference>/retirer", "POST"): row("login", tp_b="no", tp_a="done"),
    ("/espace/demandes/nouvelle", "GET"): row("login", tp_b="ok", tp_a="ok"),
    ("/espace/demandes/nouvelle", "POST"): row("login", tp_b="bad", tp_a="bad"),
    ("/espace/historique", "GET"): row("login", tp_b="ok", tp_a="ok"),
    ("/espace/inscription", "GET"): row("ok", tp_b="done", tp_a="done"),
    ("/espace/inscription", "POST"): row("ok", tp_b="done", tp_a="done"),
    ("/espace/inscription/envoyee", "GET"): row("ok"),
    ("/espace/mot-de-passe-oublie", "GET"): row("ok"),
    ("/espace/mot-de-passe-oublie", "POST"): row("ok"),
    ("/espace/mot-de-passe-oublie/envoye", "GET"): row("ok"),
    ("/espace/mot-de-passe/<token>", "GET"): row("bad"),
    ("/espace/mot-de-passe/<token>", "POST"): row("bad"),
    ("/espace/pieces-jointes/<int:attachment_id>", "GET"): row("login", tp_b="no", tp_a="ok"),
    ("/groups/action/<string:name>/<pk>", "GET"): row("no"),
    ("/groups/action/<string:name>/<pk>", "POST"): row("no"),
    ("/groups/action_post", "POST"): row("no"),
    ("/groups/add", "GET"): row("no", anon="login", tp_b="login", tp_a="login", admin="ok"),
    ("/groups/add", "POST"): row("no", anon="login", tp_b="login", tp_a="login", admin="ok"),
    ("/groups/delete/<pk>", "GET"): row(
        "no", anon="login", tp_b="login", tp_a="login", admin="done"
    ),
    ("/groups/delete/<pk>", "POST"): row("no", anon="login", tp_b="login", tp_a="login"),
    ("/groups/download/<string:filename>", "GET"): row("no"),
    ("/groups/edit/<pk>", "GET"): row("no", anon="login", tp_b="login", tp_a="login"),
    ("/groups/edit/<pk>", "POST"): row("no", anon="login", tp_b="login", tp_a="login"),
    ("/groups/list/", "GET"): row("no", anon="login", tp_b="login", tp_a="login", admin="ok"),
    ("/groups/show/<pk>", "GET"): row("no", anon="login", tp_b="login", tp_a="login"),
    ("/healthz", "GET"): row("ok"),
    ("/journal-des-consultations/", "GET"): row(
        "login", agent_b="no", steering="no", agent_a="no", manager="ok", admin="ok"
    ),
    ("/journal-des-consultations/export.csv", "GET"): row(
        "login", agent_b="no", steering="no", agent_a="no", manager="ok", admin="ok"
    ),
    ("/lang/<string:locale>", "GET"): row("done"),
    ("/login/", "GET"): row("done", anon="ok", tp_b="ok", tp_a="ok"),
    ("/login/", "POST"): row("done", anon="ok", tp_b="ok", tp_a="ok"),
    ("/login/enrolement/<token>", "GET"): row("login"),
    ("/login/otp", "GET"): row("done", anon="login", tp_b="login", tp_a="login"),
    ("/login/otp", "POST"): row("done", anon="login", tp_b="login", tp_a="login"),
    # POST only, with the CSRF token (issue 20, finding 8); signs out whoever is signed in.
    ("/logout/", "POST"): row("done"),
    ("/mes-sessions/", "GET"): row("ok", anon="login", tp_b="login", tp_a="login"),
    ("/mes-sessions/", "POST"): row("done", anon="login", tp_b="login", tp_a="login"),
    ("/modeles-du-service/add", "GET"): row(
        "login", agent_b="no", steering="no", agent_a="no", manager="ok", admin="ok"
    ),
    ("/modeles-du-service/add", "POST"): row(
        "login", agent_b="no", steering="no", agent_a="no", manager="ok", admin="ok"
    ),
    ("/modeles-du-service/delete/<pk>", "GET"): row(
        "login", agent_b="no", steering="no", agent_a="no", manager="done", admin="done"
    ),
    ("/modeles-du-service/delete/<pk>", "POST"): row(
        "no", anon="login", tp_b="login", tp_a="login", manager="done"
    ),
    ("/modeles-du-service/edit/<pk>", "GET"): row(
        "login", agent_b="no", steering="no", agent_a="no", manager="ok", admin="ok"
    ),
    ("/modeles-du-service/edit/<pk>", "POST"): row(
        "login", agent_b="no", steering="no", agent_a="no", manager="ok", admin="ok"
    ),
    ("/modeles-du-service/list/", "GET"): row(
        "login", agent_b="no", steering="no", agent_a="no", manager="ok", admin="done"
    ),
    ("/modeles-du-service/show/<pk>", "GET"): row(
        "login", agent_b="no", steering="no", agent_a="no", manager="ok", admin="ok"
    ),
    ("/permissions/action/<string:name>/<pk>", "GET"): row("no"),
    ("/permissions/action/<string:name>/<pk>", "POST"): row("no"),
    ("/permissions/action_post", "POST"): row("no"),
    ("/permissions/add", "GET"): row("no", anon="login", tp_b="login", tp_a="login"),
    ("/permissions/add", "POST"): row("no", anon="login", tp_b="login", tp_a="login"),
    ("/permissions/delete/<pk>", "GET"): row("no", anon="login", tp_b="login", tp_a="login"),
    ("/permissions/delete/<pk>", "POST"): row("no", anon="login", tp_b="login", tp_a="login"),
    ("/permissions/download/<string:filename>", "GET"): row("no"),
    ("/permissions/edit/<pk>", "GET"): row("no", anon="login", tp_b="login", tp_a="login"),
    ("/permissions/edit/<pk>", "POST"): row("no", anon="login", tp_b="login", tp_a="login"),
    ("/permissions/list/", "GET"): row("no", anon="login", tp_b="login", tp_a="login", admin="ok"),
    ("/permissions/show/<pk>", "GET"): row("no", anon="login", tp_b="login", tp_a="login"),
    ("/permissionviews/action/<string:name>/<pk>", "GET"): row("no"),
    ("/permissionviews/action/<string:name>/<pk>", "POST"): row("no"),
    ("/permissionviews/action_post", "POST"): row("no"),
    ("/permissionviews/add", "GET"): row("no", anon="login", tp_b="login", tp_a="login"),
    ("/permissionviews/add", "POST"): row("no", anon="login", tp_b="login", tp_a="login"),
    ("/permissionviews/delete/<pk>", "GET"): row("no", anon="login", tp_b="login", tp_a="login"),
    ("/permissionviews/delete/<pk>", "POST"): row("no", anon="login", tp_b="login", tp_a="login"),
    ("/permissionviews/download/<string:filename>", "GET"): row("no"),
    ("/permissionviews/edit/<pk>", "GET"): row("no", anon="login", tp_b="login", tp_a="login"),
    ("/permissionviews/edit/<pk>", "POST"): row("no", anon="login", tp_b="login", tp_a="login"),
    ("/permissionviews/list/", "GET"): row(
        "no", anon="login", tp_b="login", tp_a="login", admin="ok"
    ),
    ("/permissionviews/show/<pk>", "GET"): row("no", anon="login", tp_b="login", tp_a="login"),
    ("/pilotage/", "GET"): row(
        "login", agent_b="no", steering="ok", agent_a="no", manager="ok", admin="ok"
    ),
    ("/pilotage/<int:office_id>", "GET"): row(
        "login", agent_b="no", steering="no", agent_a="no", manager="ok", admin="ok"
    ),
    ("/pilotage/<int:office_id>/export/<string:table>.csv", "GET"): row(
        "login", agent_b="no", steering="no", agent_a="no", manager="ok", admin="ok"
    ),
    ("/pilotage/export/<string:table>.csv", "GET"): row(
        "login", agent_b="no", steering="ok", agent_a="no", manager="ok", admin="ok"
    ),
    ("/pilotage/signalements", "GET"): row(
        "login", agent_b="no", steering="ok", agent_a="no", manager="ok", admin="ok"
    ),
    ("/referentiel/aiguillage/add", "GET"): row(
        "no", anon="login", tp_b="login", tp_a="login", admin="ok"
    ),
    ("/referentiel/aiguillage/add", "POST"): row(
        "no", anon="login", tp_b="login", tp_a="login", admin="ok"
    ),
    ("/referentiel/aiguillage/delete/<pk>", "GET"): row(
        "no", anon="login", tp_b="login", tp_a="login", admin="done"
    ),
    ("/referentiel/aiguillage/delete/<pk>", "POST"): row(
        "no", anon="login", tp_b="login", tp_a="login", admin="done"
    ),
    ("/referentiel/aiguillage/edit/<pk>", "GET"): row(
        "no", anon="login", tp_b="login", tp_a="login", admin="ok"
    ),
    ("/referentiel/aiguillage/edit/<pk>", "POST"): row(
        "no", anon="login", tp_b="login", tp_a="login", admin="ok"
    ),
    ("/referentiel/aiguillage/list/", "GET"): row(
        "no", anon="login", tp_b="login", tp_a="login", admin="ok"
    ),
    ("/referentiel/aiguillage/show/<pk>", "GET"): row(
        "no", anon="login", tp_b="login", tp_a="login", admin="ok"
    ),
    ("/referentiel/alertes-en-echec/", "GET"): row(
        "no", anon="login", tp_b="login", tp_a="login", admin="ok"
    ),
    ("/referentiel/alertes-en-echec/<int:notification_id>/relancer", "POST"): row(
        "no", anon="login", tp_b="login", tp_a="login", admin="done"
    ),
    ("/referentiel/courriels-en-echec/", "GET"): row(
        "no", anon="login", tp_b="login", tp_a="login", admin="ok"
    ),
    ("/referentiel/courriels-en-echec/<int:inbound_id>/relancer", "POST"): row(
        "no", anon="login", tp_b="login", tp_a="login", admin="done"
    ),
    ("/referentiel/import/", "GET"): row(
        "no", anon="login", tp_b="login", tp_a="login", admin="ok"
    ),
    ("/referentiel/import/", "POST"): row(
        "no", anon="login", tp_b="login", tp_a="login", admin="ok"
    ),
    ("/referentiel/impots/add", "GET"): row(
        "no", anon="login", tp_b="login", tp_a="login", admin="ok"
    ),
    ("/referentiel/impots/add", "POST"): row(
        "no", anon="login", tp_b="login", tp_a="login", admin="ok"
    ),
    ("/referentiel/impots/delete/<pk>", "GET"): row(
        "no", anon="login", tp_b="login", tp_a="login", admin="done"
    ),
    ("/referentiel/impots/delete/<pk>", "POST"): row(
        "no", anon="login", tp_b="login", tp_a="login", admin="done"
    ),
    ("/referentiel/impots/edit/<pk>", "GET"): row(
        "no", anon="login", tp_b="login", tp_a="login", admin="ok"
    ),
    ("/referentiel/impots/edit/<pk>", "POST"): row(
        "no", anon="login", tp_b="login", tp_a="login", admin="ok"
    ),
    ("/referentiel/impots/list/", "GET"): row(
        "no", anon="login", tp_b="login", tp_a="login", admin="ok"
    ),
    ("/referentiel/impots/show/<pk>", "GET"): row(
        "no", anon="login", tp_b="login", tp_a="login", admin="ok"
    ),
    ("/referentiel/modeles/add", "GET"): row(
        "no", anon="login", tp_b="login", tp_a="login", admin="ok"
    ),
    ("/referentiel/modeles/add", "POST"): row(
        "no", anon="login", tp_b="login", tp_a="login", admin="ok"
    ),
    ("/referentiel/modeles/delete/<pk>", "GET"): row(
        "no", anon="login", tp_b="login", tp_a="login", admin="done"
    ),
    ("/referentiel/modeles/delete/<pk>", "POST"): row(
        "no", anon="login", tp_b="login", tp_a="login", admin="done"
    ),
    ("/referentiel/modeles/edit/<pk>", "GET"): row(
        "no", anon="login", tp_b="login", tp_a="login", admin="ok"
    ),
    ("/referentiel/modeles/edit/<pk>", "POST"): row(
        "no", anon="login", tp_b="login", tp_a="login", admin="ok"
    ),
    ("/referentiel/modeles/list/", "GET"): row(
        "no", anon="login", tp_b="login", tp_a="login", admin="ok"
    ),
    ("/referentiel/modeles/show/<pk>", "GET"): row(
        "no", anon="login", tp_b="login", tp_a="login", admin="ok"
    ),
    # The offices' mailboxes (issue 19): administrators only.
    ("/referentiel/boites-aux-lettres/add", "GET"): row(
        "no", anon="login", tp_b="login", tp_a="login", admin="ok"
    ),
    ("/referentiel/boites-aux-lettres/add", "POST"): row(
        "no", anon="login", tp_b="login", tp_a="login", admin="ok"
    ),
    ("/referentiel/boites-aux-lettres/delete/<pk>", "GET"): row(
        "no", anon="login", tp_b="login", tp_a="login", admin="done"
    ),
    ("/referentiel/boites-aux-lettres/delete/<pk>", "POST"): row(
        "no", anon="login", tp_b="login", tp_a="login", admin="done"
    ),
    ("/referentiel/boites-aux-lettres/edit/<pk>", "GET"): row(
        "no", anon="login", tp_b="login", tp_a="login", admin="ok"
    ),
    ("/referentiel/boites-aux-lettres/edit/<pk>", "POST"): row(
        "no", anon="login", tp_b="login", tp_a="login", admin="ok"
    ),
    ("/referentiel/boites-aux-lettres/list/", "GET"): row(
        "no", anon="login", tp_b="login", tp_a="login", admin="ok"
    ),
    ("/referentiel/boites-aux-lettres/show/<pk>", "GET"): row(
        "no", anon="login", tp_b="login", tp_a="login", admin="ok"
    ),
    ("/referentiel/motifs/add", "GET"): row(
        "no", anon="login", tp_b="login", tp_a="login", admin="ok"
    ),
    ("/referentiel/motifs/add", "POST"): row(
        "no", anon="login", tp_b="login", tp_a="login", admin="ok"
    ),
    ("/referentiel/motifs/delete/<pk>", "GET"): row(
        "no", anon="login", tp_b="login", tp_a="login", admin="done"
    ),
    ("/referentiel/motifs/delete/<pk>", "POST"): row(
        "no", anon="login", tp_b="login", tp_a="login", admin="done"
    ),
    ("/referentiel/motifs/edit/<pk>", "GET"): row(
        "no", anon="login", tp_b="login", tp_a="login", admin="ok"
    ),
    ("/referentiel/motifs/edit/<pk>", "POST"): row(
        "no", anon="login", tp_b="login", tp_a="login", admin="ok"
    ),
    ("/referentiel/motifs/list/", "GET"): row(
        "no", anon="login", tp_b="login", tp_a="login", admin="ok"
    ),
    ("/referentiel/motifs/show/<pk>", "GET"): row(
        "no", anon="login", tp_b="login", tp_a="login", admin="ok"
    ),
    ("/referentiel/parametres/", "GET"): row(
        "no", anon="login", tp_b="login", tp_a="login", admin="ok"
    ),
    ("/referentiel/parametres/", "POST"): row(
        "no", anon="login", tp_b="login", tp_a="login", admin="ok"
    ),
    # Office kinds (issue 22): directory data, administrators only, like offices.
    ("/referentiel/types-de-service/add", "GET"): row(
        "no", anon="login", tp_b="login", tp_a="login", admin="ok"
    ),
    ("/referentiel/types-de-service/add", "POST"): row(
        "no", anon="login", tp_b="login", tp_a="login", admin="ok"
    ),
    ("/referentiel/types-de-service/delete/<pk>", "GET"): row(
        "no", anon="login", tp_b="login", tp_a="login", admin="done"
    ),
    ("/referentiel/types-de-service/delete/<pk>", "POST"): row(
        "no", anon="login", tp_b="login", tp_a="login", admin="done"
    ),
    ("/referentiel/types-de-service/edit/<pk>", "GET"): row(
        "no", anon="login", tp_b="login", tp_a="login", admin="ok"
    ),
    ("/referentiel/types-de-service/edit/<pk>", "POST"): row(
        "no", anon="login", tp_b="login", tp_a="login", admin="ok"
    ),
    ("/referentiel/types-de-service/list/", "GET"): row(
        "no", anon="login", tp_b="login", tp_a="login", admin="ok"
    ),
    ("/referentiel/types-de-service/show/<pk>", "GET"): row(
        "no", anon="login", tp_b="login", tp_a="login", admin="ok"
    ),
    ("/referentiel/services/add", "GET"): row(
        "no", anon="login", tp_b="login", tp_a="login", admin="ok"
    ),
    # Legal holds and retention reports (issue 22): administrators only. An empty form to
    # place a hold is refused (400); lifting needs a hold in force (404 otherwise).
    ("/referentiel/gels-juridiques/", "GET"): row(
        "no", anon="login", tp_b="login", tp_a="login", admin="ok"
    ),
    ("/referentiel/gels-juridiques/poser", "POST"): row(
        "no", anon="login", tp_b="login", tp_a="login", admin="bad"
    ),
    ("/referentiel/gels-juridiques/lever", "POST"): row(
        "no", anon="login", tp_b="login", tp_a="login"
    ),
    ("/referentiel/conservation/", "GET"): row(
        "no", anon="login", tp_b="login", tp_a="login", admin="ok"
    ),
    ("/referentiel/conservation/<int:run_id>", "GET"): row(
        "no", anon="login", tp_b="login", tp_a="login", admin="ok"
    ),
    ("/referentiel/conservation/<int:run_id>/export.csv", "GET"): row(
        "no", anon="login", tp_b="login", tp_a="login", admin="ok"
    ),
    ("/referentiel/services/add", "POST"): row(
        "no", anon="login", tp_b="login", tp_a="login", admin="ok"
    ),
    ("/referentiel/services/delete/<pk>", "GET"): row(
        "no", anon="login", tp_b="login", tp_a="login", admin="done"
    ),
    ("/referentiel/services/delete/<pk>", "POST"): row(
        "no", anon="login", tp_b="login", tp_a="login", admin="done"
    ),
    ("/referentiel/services/edit/<pk>", "GET"): row(
        "no", anon="login", tp_b="login", tp_a="login", admin="ok"
    ),
    ("/referentiel/services/edit/<pk>", "POST"): row(
        "no", anon="login", tp_b="login", tp_a="login", admin="ok"
    ),
    ("/referentiel/services/list/", "GET"): row(
        "no", anon="login", tp_b="login", tp_a="login", admin="ok"
    ),
    ("/referentiel/services/show/<pk>", "GET"): row(
        "no", anon="login", tp_b="login", tp_a="login", admin="ok"
    ),
    # Every agent changes their own password (an empty form is refused: "bad").
    ("/resetmypassword/form", "GET"): row("ok", anon="login", tp_b="login", tp_a="login"),
    ("/resetmypassword/form", "POST"): row("bad", anon="login", tp_b="login", tp_a="login"),
    # Administrators only; without ``?pk=`` of an existing agent the page does not exist (404).
    ("/resetpassword/form", "GET"): row("no", anon="login", tp_b="login", tp_a="login"),
    ("/resetpassword/form", "POST"): row("no", anon="login", tp_b="login", tp_a="login"),
    ("/roles/action/<string:name>/<pk>", "GET"): row("no"),
    ("/roles/action/<string:name>/<pk>", "POST"): row("no"),
    ("/roles/action_post", "POST"): row("no"),
    ("/roles/add", "GET"): row("no", anon="login", tp_b="login", tp_a="login", admin="ok"),
    ("/roles/add", "POST"): row("no", anon="login", tp_b="login", tp_a="login", admin="ok"),
    ("/roles/delete/<pk>", "GET"): row(
        "no", anon="login", tp_b="login", tp_a="login", admin="done"
    ),
    ("/roles/delete/<pk>", "POST"): row("no", anon="login", tp_b="login", tp_a="login"),
    ("/roles/download/<string:filename>", "GET"): row("no"),
    ("/roles/edit/<pk>", "GET"): row("no", anon="login", tp_b="login", tp_a="login"),
    ("/roles/edit/<pk>", "POST"): row("no", anon="login", tp_b="login", tp_a="login"),
    ("/roles/list/", "GET"): row("no", anon="login", tp_b="login", tp_a="login", admin="ok"),
    ("/roles/show/<pk>", "GET"): row("no", anon="login", tp_b="login", tp_a="login"),
    ("/userinfoeditview/form", "GET"): row(
        "no", anon="login", tp_b="login", tp_a="login", admin="ok"
    ),
    ("/userinfoeditview/form", "POST"): row(
        "no", anon="login", tp_b="login", tp_a="login", admin="ok"
    ),
    ("/users/action/<string:name>/<pk>", "GET"): row("no"),
    ("/users/action/<string:name>/<pk>", "POST"): row("no"),
    ("/users/action_post", "POST"): row("no"),
    ("/users/add", "GET"): row("no", anon="login", tp_b="login", tp_a="login", admin="ok"),
    ("/users/add", "POST"): row("no", anon="login", tp_b="login", tp_a="login", admin="ok"),
    ("/users/delete/<pk>", "GET"): row(
        "no", anon="login", tp_b="login", tp_a="login", admin="done"
    ),
    ("/users/delete/<pk>", "POST"): row(
        "no", anon="login", tp_b="login", tp_a="login", admin="done"
    ),
    ("/users/edit/<pk>", "GET"): row("no", anon="login", tp_b="login", tp_a="login", admin="ok"),
    ("/users/edit/<pk>", "POST"): row("no", anon="login", tp_b="login", tp_a="login", admin="ok"),
    ("/users/list/", "GET"): row("no", anon="login", tp_b="login", tp_a="login", admin="ok"),
    ("/users/show/<pk>", "GET"): row("no", anon="login", tp_b="login", tp_a="login", admin="ok"),
    ("/users/userinfo/", "GET"): row("no", anon="login", tp_b="login", tp_a="login", admin="ok"),
    ("/viewmenus/action/<string:name>/<pk>", "GET"): row("no"),
    ("/viewmenus/action/<string:name>/<pk>", "POST"): row("no"),
    ("/viewmenus/action_post", "POST"): row("no"),
    ("/viewmenus/add", "GET"): row("no", anon="login", tp_b="login", tp_a="login"),
    ("/viewmenus/add", "POST"): row("no", anon="login", tp_b="login", tp_a="login"),
    ("/viewmenus/delete/<pk>", "GET"): row("no", anon="login", tp_b="login", tp_a="login"),
    ("/viewmenus/delete/<pk>", "POST"): row("no", anon="login", tp_b="login", tp_a="login"),
    ("/viewmenus/download/<string:filename>", "GET"): row("no"),
    ("/viewmenus/edit/<pk>", "GET"): row("no", anon="login", tp_b="login", tp_a="login"),
    ("/viewmenus/edit/<pk>", "POST"): row("no", anon="login", tp_b="login", tp_a="login"),
    ("/viewmenus/list/", "GET"): row("no", anon="login", tp_b="login", tp_a="login", admin="ok"),
    ("/viewmenus/show/<pk>", "GET"): row("no", anon="login", tp_b="login", tp_a="login"),
}

# Known 500s, reported to their owners; each cell above says "500" for them meanwhile.
# Once one is fixed, ``test_every_rule_as_every_role`` fails ("expected 500, got ..."): put the
# real outcome in its row and remove the line here. (FAB's actions with an unknown name and
# downloads of a missing file were 500s: ``app/fab/guard.py`` now answers 404 for them.)
KNOWN_500: set[tuple[str, str]] = set()


# --- the machinery ------------------------------------------------------------------------------


@dataclass
class Targets:
    """Objects made afresh for each rule; none belongs to agent B, taxpayer B nor steering."""

    values: dict[str, Any]


MISSING_PK = 987654321
ADMIN_SECURITY_PREFIXES = ("/groups", "/permissions", "/permissionviews", "/roles", "/viewmenus")


def _targets(world: World, rule: Rule) -> Targets:
    topic = make_topic()
    case = make_case(world.taxpayer_a, world.office_a, topic=topic, subject="Demande de A")
    message = Message(case=case, author_kind=AuthorKind.TAXPAYER, body="Bonjour", internal=False)
    db.session.add(message)
    db.session.flush()
    key = secrets.token_hex(16)
    path = path_of(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"%PDF-1.4\n")
    attachment = Attachment(
        message=message,
        filename="avis.pdf",
        storage_key=key,
        content_type="application/pdf",
        size=9,
        sha256="0" * 64,
    )
    db.session.add(attachment)
    template = ReplyTemplate(title="Modèle de A", body="Bonjour", office=world.office_a)
    db.session.add(template)
    matter = make_tax_matter(f"Impôt {secrets.token_hex(3)}")
    routing = RoutingRule(topic=topic, office_kind=office_kind(KindCode.SIP))
    db.session.add(routing)
    office = make_office(KindCode.SIE, parent=world.directorate)
    agent = make_agent(office, "agent")
    failed = Notification(
        kind=NotificationKind.NEW_MESSAGE,
        recipient="a@example.fr",
        subject="s",
        body="b",
        taxpayer_id=world.taxpayer_a.id,
        status=NotificationStatus.FAILED,
    )
    db.session.add(failed)
    tag = Tag(office_id=world.office_a.id, name=f"Étiquette {secrets.token_hex(3)}")
    db.session.add(tag)
    db.session.flush()
    notice = AgentNotice(agent_id=world.agent_a.id, kind=NoticeKind.NEW_CASE, case_id=case.id)
    db.session.add(notice)
    kind = OfficeKind(code=f"essai{secrets.randbelow(10**9)}", label="Type d'essai")
    db.session.add(kind)
    mailbox = Mailbox(
        address=f"balf{secrets.randbelow(10**9)}@dgfip.test",
        office=world.office_a,
        status=MailboxStatus.OPEN,
        auto_reply_enabled=True,
        received_count=0,
        closed_count=0,
    )
    db.session.add(mailbox)
    db.session.flush()
    failed_email = InboundEmail(
        mailbox_id=mailbox.id,
        envelope_from="a@example.fr",
        recipient=mailbox.address,
        raw=b"From: a@example.fr\r\nSubject: s\r\n\r\nb\r\n",
        status=InboundStatus.FAILED,
        attempts=12,
        last_error="RuntimeError: essai",
        refused_parts=[],
        defects=[],
        auto_replied=False,
    )
    db.session.add(failed_email)
    run = RetentionRun(
        archive_before=utcnow(),
        purge_before=utcnow(),
        notes_before=utcnow(),
        archived=0,
        purged_cases=0,
        purged_messages=0,
        purged_attachments=0,
        purged_notes=0,
        held=0,
    )
    db.session.add(run)
    report = report_operations.file_report(
        agent=db.session.get(Agent, world.agent_a.id),
        theme="tool",
        description="La liste des demandes est lente.",
    )
    db.session.commit()
    pk_by_prefix = {
        "/modeles-du-service": template.id,
        "/referentiel/modeles": template.id,
        "/referentiel/aiguillage": routing.id,
        "/referentiel/impots": matter.id,
        "/referentiel/motifs": topic.id,
        "/referentiel/boites-aux-lettres": mailbox.id,
        "/referentiel/services": office.id,
        "/referentiel/types-de-service": kind.id,
        "/users": agent.id,
    }
    pk = next(
        (value for prefix, value in pk_by_prefix.items() if rule.rule.startswith(prefix + "/")),
        MISSING_PK,
    )
    return Targets(
        {
            "case_id": case.id,
            "attachment_id": attachment.id,
            "taxpayer_id": world.taxpayer_a.id,
            "office_id": world.office_a.id,
            "notification_id": failed.id,
            "inbound_id": failed_email.id,
            "notice_id": notice.id,
            "tag_id": tag.id,
            "run_id": run.id,
            "report_id": report.id,
            "slug": "demande" if rule.rule.startswith("/agent/aide/") else "ecrire",
            "reference": case.reference,
            "token": "jeton-invalide",
            "mail_id": "absent",
            "filename": "absent.csv",
            "locale": "fr",
            "name": "muldelete",
            "table": "synthese",
            "code": "repondre-reclamation",
            "pk": pk,
        }
    )


def _values(rule: Rule, targets: Targets) -> dict[str, Any]:
    missing = set(rule.arguments) - set(targets.values)
    assert not missing, f"{rule.rule}: teach _targets what to put in {missing}"
    return {name: targets.values[name] for name in rule.arguments}


def _outcome(response: Any) -> str:
    code = response.status_code
    if 200 <= code < 300:
        return "ok"
    if code in (301, 302, 303, 307, 308):
        location = response.headers.get("Location", "")
        path = location.split("?")[0]
        if path.endswith("/login/") or path.endswith("/espace/connexion"):
            return "login"
        return "done"
    if code in (403, 404):
        return "no"
    if code == 400:
        return "bad"
    return str(code)


def _clients(app: Flask, world: World) -> dict[str, FlaskClient]:
    return {role: sign_in_as(app.test_client(), role, world) for role in ROLES}


def _rules(app: Flask) -> Iterator[tuple[Rule, str]]:
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.rule.startswith(SKIPPED_PREFIXES):
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            yield rule, method


@pytest.fixture
def _no_limits(app: Flask) -> Iterator[None]:
    clear_rate_limits(app)
    yield
    clear_rate_limits(app)


def test_every_rule_has_a_row(app: Flask) -> None:
    present = {(rule.rule, method) for rule, method in _rules(app)}
    missing = sorted(present - set(TABLE))
    stale = sorted(set(TABLE) - present)
    assert not missing, "rules without a row in TABLE (see the module docstring):\n" + "\n".join(
        f"    {key}" for key in missing
    )
    assert not stale, "rows of TABLE for rules that no longer exist:\n" + "\n".join(
        f"    {key}" for key in stale
    )


def test_every_rule_as_every_role(app: Flask, world: World, _no_limits: None) -> None:
    observed: dict[tuple[str, str], dict[str, str]] = {}
    failures: list[str] = []
    for rule, method in _rules(app):
        key = (rule.rule, method)
        targets = _targets(world, rule)
        clients = _clients(app, world)  # afresh: a logout route signs the previous ones out
        _, path = rule.build(_values(rule, targets), append_unknown=False)  # type: ignore[misc]
        observed[key] = {}
        for role in ROLES:
            client = clients[role]
            data = None if method == "GET" else {"csrf_token": session_csrf_token(app, client)}
            response = client.open(path, method=method, data=data, buffered=True)
            response.close()
            outcome = _outcome(response)
            observed[key][role] = outcome
            if outcome == "500" and key not in KNOWN_500:
                failures.append(f"{method} {path} as {role}: 500")
            expected = TABLE.get(key, {}).get(role)
            if expected is not None and outcome != expected:
                failures.append(
                    f"{method} {rule.rule} as {role}: expected {expected}, got {outcome} "
                    f"({response.status_code} {response.headers.get('Location', '')})"
                )
        db.session.remove()
    if os.environ.get("ROUTE_TABLE_DUMP"):
        for key, outcomes in observed.items():
            cells = ", ".join(f'{role}="{value}"' for role, value in outcomes.items())
            print(f"    {key!r}: row({cells}),")
    assert not failures, "\n".join(failures)


def test_known_500s_are_listed_in_the_table(app: Flask) -> None:
    """A 500 is tolerated only for a listed, existing rule whose row says so."""
    present = {(rule.rule, method) for rule, method in _rules(app)}
    assert present >= KNOWN_500
    for key in KNOWN_500:
        assert "500" in TABLE[key].values(), key
