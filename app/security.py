"""The security manager: agents are FAB users bound to an office; roles are data, synced here.

FAB decides which screens a role may open (its permissions); which rows an agent may see or
change is decided by ``app.access`` alone.
"""

from __future__ import annotations

import logging

from flask_appbuilder.security.api import SecurityApi
from flask_appbuilder.security.sqla.manager import SecurityManager

from app.access import ROLE_ADMIN, ROLE_AGENT, ROLE_OFFICE_MANAGER, ROLE_STEERING
from app.permissions import ROLE_PERMISSIONS
from models import Agent

log = logging.getLogger(__name__)

ROLES = (ROLE_AGENT, ROLE_OFFICE_MANAGER, ROLE_STEERING, ROLE_ADMIN)


class ClosedSecurityApi(SecurityApi):
    """FAB's JSON login would skip the second factor and the lockout: it is not exposed."""

    def login(self):  # no @expose: no route
        raise NotImplementedError

    def refresh(self):
        raise NotImplementedError


class EContactsSecurityManager(SecurityManager):
    user_model = Agent
    security_api = ClosedSecurityApi

    def sync_roles(self) -> None:
        """Create the permissions of every registered view and give each role exactly its own."""
        roles = {name: self.find_role(name) or self.add_role(name) for name in ROLES}
        self.add_role(self.auth_role_public)
        self.appbuilder.add_permissions(update_perms=True)
        for name, role in roles.items():
            if name == ROLE_ADMIN:
                wanted = {
                    (pv.permission.name, pv.view_menu.name)
                    for pv in self.session.query(self.permissionview_model).all()
                }
            else:
                wanted = set(ROLE_PERMISSIONS.get(name, []))
            perm_views = []
            for permission_name, view_name in sorted(wanted):
                perm_view = self.add_permission_view_menu(permission_name, view_name)
                if perm_view is not None:
                    perm_views.append(perm_view)
            role.permissions = perm_views
        self.session.commit()
