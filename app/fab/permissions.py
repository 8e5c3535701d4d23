"""Each role's FAB permissions, as (permission, view name) pairs: roles are data.

FAB permissions decide which screens a role may open; which rows are visible is decided by
``app.cases.access`` alone. The view classes declare these names as ``class_permission_name``;
``EContactsSecurityManager.sync_roles`` makes the database match this table exactly.
Administrators get every permission of every registered view.

One list per area of screens, so that each area's module owns its own lines.
"""

from __future__ import annotations

from app.directory.access import (
    ROLE_ADMIN,
    ROLE_AGENT,
    ROLE_CORRESPONDENT,
    ROLE_OFFICE_MANAGER,
    ROLE_STEERING,
)

HOME = [
    ("can_access", "AgentHome"),
    # Every agent changes their own password (views.admin.passwords).
    ("can_this_form_get", "ResetMyPasswordView"),
    ("can_this_form_post", "ResetMyPasswordView"),
    # The agents' online help (views.agent.help), every role.
    ("can_access", "AgentHelp"),
    # Difficulty reports (views.agent.reports): every agent reports and reads their own; which
    # rows and actions is decided by app.correspondents.access.
    ("can_access", "AgentReports"),
]

# views.agent: office inbox, a case's page and its actions, search, attachments.
AGENT_SCREENS: list[tuple[str, str]] = [
    ("can_access", "AgentCases"),
    ("can_access", "AgentSearch"),
    ("can_access", "AgentNotices"),
    ("menu_access", "Demandes"),
    ("menu_access", "Rechercher"),
]

# views.contacts: recording a contact, the summary sheet.
CONTACT_SCREENS: list[tuple[str, str]] = [
    ("can_access", "Contacts"),
    ("can_access", "TaxpayerSummary"),
    ("menu_access", "RecordContact"),
]

# views.training: the training space (e-formation), for those who handle cases.
TRAINING_SCREENS: list[tuple[str, str]] = [
    ("can_access", "Training"),
    ("menu_access", "Formation"),
]

# views.steering: dashboards and exports (office managers see their own office's).
STEERING_SCREENS: list[tuple[str, str]] = [
    ("can_access", "Steering"),
    ("menu_access", "Pilotage"),
]

# Office managers only: their office's reply templates, the read log of their office...
MANAGER_SCREENS: list[tuple[str, str]] = [
    *((permission, "OfficeTemplates") for permission in ("can_list", "can_show", "can_add")),
    ("can_edit", "OfficeTemplates"),
    ("can_delete", "OfficeTemplates"),
    ("menu_access", "Office templates"),
    ("can_list", "AccessLog"),
    ("menu_access", "Access log"),
    ("can_access", "AgentTags"),
    ("menu_access", "Étiquettes"),
]

ROLE_PERMISSIONS: dict[str, list[tuple[str, str]]] = {
    ROLE_AGENT: [*HOME, *AGENT_SCREENS, *CONTACT_SCREENS, *TRAINING_SCREENS],
    ROLE_OFFICE_MANAGER: [
        *HOME,
        *AGENT_SCREENS,
        *CONTACT_SCREENS,
        *TRAINING_SCREENS,
        *MANAGER_SCREENS,
        *STEERING_SCREENS,
    ],
    ROLE_STEERING: [*HOME, *STEERING_SCREENS],
    # A departmental correspondent (usually also an agent or a manager): the reports of their
    # directorate, through the reports screen every role has.
    ROLE_CORRESPONDENT: [*HOME],
    ROLE_ADMIN: [],  # every permission (see sync_roles)
}
