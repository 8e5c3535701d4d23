"""The security manager: agents are FAB users bound to an office; roles are data, synced here.

FAB decides which screens a role may open (its permissions); which rows an agent may see or
change is decided by the domains' ``access`` modules alone (docs/architecture.md).

Signing in (docs/security.md): a password, checked here with a rate limit per address and per
identifier (Redis) and a lockout after repeated failures (in the database), then a TOTP code
(``views.auth``). ``load_user`` is the one gate of the second factor: an agent's session that
has not passed it loads no user, so every FAB page and API sees an anonymous visitor.
"""

from __future__ import annotations

import enum
import logging
import secrets
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pyotp
import redis
from flask import current_app, g, has_request_context, request, session
from flask_appbuilder.security.api import SecurityApi
from flask_appbuilder.security.sqla.manager import SecurityManager
from flask_appbuilder.security.sqla.models import (
    Group,
    Permission,
    PermissionView,
    Role,
    ViewMenu,
    assoc_permissionview_role,
)
from flask_login import current_user
from sqlalchemy import or_, select, update
from sqlalchemy.orm import joinedload
from werkzeug.security import check_password_hash, generate_password_hash

from app.directory.access import (
    ROLE_ADMIN,
    ROLE_AGENT,
    ROLE_CORRESPONDENT,
    ROLE_OFFICE_MANAGER,
    ROLE_STEERING,
)
from app.directory.operations import lift_lock, record_agent_event
from app.fab.permissions import ROLE_PERMISSIONS
from app.platform import passwords, sessions
from app.platform.cache import VersionedCache
from app.platform.queue import get_redis
from app.platform.ratelimit import PREFIX as RATE_PREFIX
from app.platform.ratelimit import too_many
from models import Agent, EventKind, db, utcnow

log = logging.getLogger(__name__)

ROLES = (ROLE_AGENT, ROLE_OFFICE_MANAGER, ROLE_STEERING, ROLE_CORRESPONDENT, ROLE_ADMIN)


_DUMMY_HASH: str | None = None  # compared against when no password is (timing)


class ClosedSecurityApi(SecurityApi):
    """FAB's JSON login would skip the second factor and the lockout: it is not exposed.

    Not dead code: FAB 5.3 still registers ``security_api`` with ``FAB_ADD_SECURITY_API`` off;
    without this class ``/api/v1/security/login`` answers 500 (tests/test_security_login.py)."""

    def login(self):  # no @expose: no route
        raise NotImplementedError

    def refresh(self):
        raise NotImplementedError


# Session keys of the agent's login (the taxpayer's are in views.taxpayer.session).
MFA_OK = "mfa_ok"  # set once both factors passed (tests/helpers.py sets it too)
PENDING_AGENT = "pending_agent"  # {"id", "at", "next"}: password right, code not yet given
PENDING_SECRET = "pending_otp_secret"  # noqa: S105 - a session key: the secret being enrolled
PENDING_SECONDS = 300  # the code must follow the password within this time
LOGIN_WINDOW_SECONDS = 300
OTP_ATTEMPTS = 5  # wrong codes per pending login before the password is asked again


@dataclass(frozen=True)
class RolePermissions:
    """Every role's (permission, view or menu) pairs: the cached copy of FAB's role tables."""

    by_id: dict[int, frozenset[tuple[str, str]]]
    by_name: dict[str, frozenset[tuple[str, str]]]

    def allows(self, role_ids: list[int], permission_name: str, view_name: str) -> bool:
        pair = (permission_name, view_name)
        return any(pair in self.by_id.get(role_id, ()) for role_id in role_ids)


# Reloaded when a role, permission, view or their links change (app.platform.cache,
# docs/security.md).
PERMISSIONS_CACHE: VersionedCache[RolePermissions] = VersionedCache(
    "permissions", Role, Permission, ViewMenu, PermissionView
)


@dataclass(frozen=True)
class _ViewMenuName:
    name: str


@dataclass(frozen=True)
class _PermissionViewName:
    """What FAB's menu code reads of a permission-view row (``pvm.view_menu.name``)."""

    view_menu: _ViewMenuName


# How a request's agent is loaded (get_user_by_id): built once, as building loader options costs
# about as much as the joins themselves.
_AGENT_LOAD = (
    joinedload(Agent.roles),
    joinedload(Agent.groups).joinedload(Group.roles),
    joinedload(Agent.office),
)
_ACCESS_ANSWERS = "econtacts_access_answers"  # in ``g``: has_access's answers of the request


class LoginOutcome(enum.Enum):
    OK = "ok"
    INVALID = "invalid"
    LOCKED = "locked"
    RATE_LIMITED = "rate_limited"


@dataclass
class PasswordCheck:
    outcome: LoginOutcome
    agent: Agent | None = None


def signed_in() -> Any:
    """The signed-in agent itself (or the anonymous user), not Flask-Login's proxy: each
    attribute read through ``current_user`` looks the request's user up again, and the access
    rules read the agent's id, roles and office many times per page."""
    return current_user._get_current_object()


def mfa_required() -> bool:
    return bool(current_app.config["AGENT_MFA_REQUIRED"])


def lock_end(agent: Agent) -> datetime | None:
    """When the agent's lock ends (UTC), or None if the account is not locked now."""
    until = agent.locked_until
    return until if until is not None and until > utcnow() else None


class EContactsSecurityManager(SecurityManager):
    """Agents, roles as data, the second factor and the lockout. Its screens (the agents' list,
    the two-step sign-in) are views: ``views.SecurityManager`` attaches them, so that this
    package never imports ``views``."""

    user_model = Agent
    security_api = ClosedSecurityApi
    userstatschartview = None  # FAB's chart loads Google's charts from the internet

    # --- permissions, cached per process (FAB asks the database at each check) -------------

    def role_permissions(self) -> RolePermissions:
        return PERMISSIONS_CACHE.get(self._load_role_permissions)

    def _load_role_permissions(self) -> RolePermissions:
        rows = self.session.execute(
            select(Role.id, Role.name, Permission.name, ViewMenu.name)
            .select_from(Role)
            .outerjoin(assoc_permissionview_role, assoc_permissionview_role.c.role_id == Role.id)
            .outerjoin(
                PermissionView, PermissionView.id == assoc_permissionview_role.c.permission_view_id
            )
            .outerjoin(Permission, Permission.id == PermissionView.permission_id)
            .outerjoin(ViewMenu, ViewMenu.id == PermissionView.view_menu_id)
        ).all()
        pairs: dict[int, set[tuple[str, str]]] = defaultdict(set)
        names: dict[int, str] = {}
        for role_id, role_name, permission_name, view_name in rows:
            names[role_id] = role_name
            if permission_name is not None and view_name is not None:
                pairs[role_id].add((permission_name, view_name))
        by_id = {role_id: frozenset(pairs[role_id]) for role_id in names}
        return RolePermissions(
            by_id=by_id, by_name={name: by_id[role_id] for role_id, name in names.items()}
        )

    def exist_permission_on_roles(
        self, view_name: str, permission_name: str, role_ids: list[int]
    ) -> bool:
        return self.role_permissions().allows(role_ids, permission_name, view_name)

    def find_roles_permission_view_menus(
        self, permission_name: str, role_ids: list[int]
    ) -> list[Any]:
        by_id = self.role_permissions().by_id
        views = {
            view
            for role_id in role_ids
            for permission, view in by_id.get(role_id, ())
            if permission == permission_name
        }
        return [_PermissionViewName(_ViewMenuName(view)) for view in sorted(views)]

    def is_item_public(self, permission_name: str, view_name: str) -> bool:
        public = self.role_permissions().by_name.get(self.auth_role_public, frozenset())
        return (permission_name, view_name) in public

    def has_access(self, permission_name: str, view_name: str) -> bool:
        """FAB's check, answered once per request for each (permission, screen): a page asks the
        same ones several times (the menu, the header, the view's own decorator)."""
        if not has_request_context():
            return bool(super().has_access(permission_name, view_name))
        answers: dict[tuple[Any, str, str], bool] = g.setdefault(_ACCESS_ANSWERS, {})
        key = (getattr(signed_in(), "id", None), permission_name, view_name)
        answer = answers.get(key)
        if answer is None:
            answer = answers[key] = bool(super().has_access(permission_name, view_name))
        return answer

    def get_user_by_id(self, pk: int) -> Any | None:
        """The agent with their roles, groups and office in one query (FAB reads the roles at
        every permission check, the pages the office)."""
        return self.session.get(self.user_model, pk, options=_AGENT_LOAD)

    # --- the one gate of the second factor -------------------------------------------------

    def load_user(self, pk: int) -> Any | None:
        """Flask-Login's loader: an agent's session counts only once both factors passed."""
        if mfa_required() and not session.get(MFA_OK):
            return None
        return super().load_user(pk)

    # --- sessions ---------------------------------------------------------------------------

    def end_agent_sessions(self, agent: Agent, *, keep: str | None = None) -> None:
        """End every session of ``agent`` but ``keep`` (a session token) after a password reset
        or their own change: the server-side sessions end at once (``app.platform.sessions``),
        and a cookie whose session ended signs nobody in (``app.platform.headers``)."""
        sessions.end_sessions(agent=agent, keep=keep, reason=sessions.PASSWORD)

    # --- passwords: rate limits and lockout -------------------------------------------------

    def _lockout(self) -> tuple[int, timedelta]:
        config = current_app.config
        return (
            int(config["AGENT_LOCKOUT_ATTEMPTS"]),
            timedelta(minutes=int(config["AGENT_LOCKOUT_MINUTES"])),
        )

    def is_locked(self, agent: Agent) -> bool:
        """Locked after N failed passwords in a row, for M minutes after the last one (until
        ``locked_until``, or until an administrator unlocks the account)."""
        return lock_end(agent) is not None

    def update_user_auth_stat(self, user: Any, success: bool = True) -> None:
        attempts, duration = self._lockout()
        if success:
            user.locked_until = None
        elif (user.fail_login_count or 0) + 1 >= attempts:
            user.locked_until = utcnow() + duration
        super().update_user_auth_stat(user, success)

    # --- agent accounts: unlock, passwords (operations: they flush, the view commits) --------

    def set_agent_password(
        self, agent: Agent, password: str, *, by: Agent | None, forced_change: bool
    ) -> None:
        """The one way an agent's password changes (policy checked here too).

        By an administrator (``forced_change``): the account is unlocked, the agent must choose
        a new password at the next sign-in, and their sessions end. By the agent: the flag is
        cleared and their other sessions end (the caller marks the current one as new).
        """
        passwords.check(password, identifiers=[agent.username, agent.email])
        agent.password = generate_password_hash(
            password=password,
            method=current_app.config.get("FAB_PASSWORD_HASH_METHOD", "scrypt"),
            salt_length=current_app.config.get("FAB_PASSWORD_HASH_SALT_LENGTH", 16),
        )
        agent.must_change_password = forced_change
        if forced_change:
            lift_lock(agent=agent)
            record_agent_event(EventKind.AGENT_PASSWORD_RESET, agent=agent, by=by)
        # An agent changing their own password keeps this session (its token); others end.
        keep = None if forced_change else session.get(sessions.AGENT_SID)
        self.end_agent_sessions(agent, keep=keep)
        db.session.flush()

    def reset_password(self, userid: Any, password: str) -> None:
        """FAB's own entry (its CLI ``flask fab reset-password``): the same policy and rules."""
        agent = self.get_user_by_id(userid)
        if agent is None:
            raise LookupError(userid)
        self.set_agent_password(agent, password, by=None, forced_change=True)
        db.session.commit()

    def _unknown_key(self, username: str) -> str:
        return f"{RATE_PREFIX}agent-unknown:{username}"

    def _unknown_locked(self, username: str) -> bool:
        """Identifiers that match no account lock too, so the lock reveals nothing."""
        attempts, _ = self._lockout()
        try:
            count = get_redis().get(self._unknown_key(username))
        except redis.RedisError:
            return False
        return count is not None and int(count) >= attempts

    def _unknown_failed(self, username: str) -> None:
        _, duration = self._lockout()
        try:
            with get_redis().pipeline() as pipe:
                pipe.incr(self._unknown_key(username))
                pipe.expire(self._unknown_key(username), int(duration.total_seconds()))
                pipe.execute()
        except redis.RedisError as error:
            log.warning("failed login not counted: %s", error)

    def check_password(self, username: str, password: str) -> PasswordCheck:
        """The first factor, with the limits: the view never learns whether an account exists
        except through OK."""
        config = current_app.config
        key = username.strip().lower()
        address = request.remote_addr or "unknown"
        limited_ip = too_many(
            f"agent-login-ip:{address}",
            limit=int(config["LOGIN_ATTEMPTS_PER_IP"]),
            window_seconds=LOGIN_WINDOW_SECONDS,
        )
        limited_user = too_many(
            f"agent-login-user:{key}",
            limit=int(config["LOGIN_ATTEMPTS_PER_USERNAME"]),
            window_seconds=LOGIN_WINDOW_SECONDS,
        )
        if limited_ip or limited_user:
            log.warning("agent login rate-limited (address %s)", address)
            return PasswordCheck(LoginOutcome.RATE_LIMITED)
        # Every outcome below costs one password hash and reads the same rows (issue 20,
        # finding 7): a wrong password, an unknown identifier and a locked account answer alike.
        agent = self.find_user(username=username.strip()) or self.find_user(email=key)
        if agent is None or not agent.is_active:
            locked = self._unknown_locked(key)
            self._same_work_as_a_password(password)
            if locked:
                return PasswordCheck(LoginOutcome.LOCKED)
            self._unknown_failed(key)
            return PasswordCheck(LoginOutcome.INVALID)
        if self.is_locked(agent):
            log.warning("locked agent account tried: %s", agent.id)
            self._same_work_as_a_password(password)
            return PasswordCheck(LoginOutcome.LOCKED)
        attempts, _duration = self._lockout()
        if (agent.fail_login_count or 0) >= attempts:
            # The lock has run out: count afresh, as the unknown identifier's counter does.
            agent.fail_login_count = 0
        checked = self.auth_user_db(agent.username, password)
        if checked is None:
            return PasswordCheck(LoginOutcome.INVALID)
        return PasswordCheck(LoginOutcome.OK, checked)

    def _same_work_as_a_password(self, password: str) -> None:
        """Compare ``password`` with a hash made as agents' hashes are (FAB's method)."""
        global _DUMMY_HASH
        if _DUMMY_HASH is None:
            config = current_app.config
            _DUMMY_HASH = generate_password_hash(
                secrets.token_hex(16),
                method=config.get("FAB_PASSWORD_HASH_METHOD", "scrypt"),
                salt_length=config.get("FAB_PASSWORD_HASH_SALT_LENGTH", 16),
            )
        check_password_hash(_DUMMY_HASH, password)

    # --- the second factor ------------------------------------------------------------------

    def totp(self, secret: str) -> pyotp.TOTP:
        return pyotp.TOTP(secret, issuer=current_app.config["TOTP_ISSUER"])

    def provisioning_uri(self, agent: Agent, secret: str) -> str:
        return self.totp(secret).provisioning_uri(
            name=agent.username, issuer_name=current_app.config["TOTP_ISSUER"]
        )

    def verify_code(self, agent: Agent, secret: str, code: str) -> int | None:
        """The time step of ``code`` if it is right (one step of clock drift either way) and
        newer than the last one used: a code works once."""
        code = "".join(code.split())
        if not (len(code) == 6 and code.isdigit()):
            return None
        totp = self.totp(secret)
        current = totp.timecode(datetime.now())
        last = agent.otp_last_counter if agent.otp_last_counter is not None else -1
        for step in (current - 1, current, current + 1):
            if step > last and pyotp.utils.strings_equal(totp.generate_otp(step), code):
                return step
        return None

    def claim_step(self, agent: Agent, step: int, enrol_secret: str | None) -> bool:
        """Use time step ``step`` of the agent's code, once whatever the concurrency: one
        conditional UPDATE (its row lock makes a second request wait, then find the step used);
        ``enrol_secret`` is stored at the same time for an enrolment. The caller commits."""
        condition = (
            Agent.otp_secret.is_(None)
            if enrol_secret is not None
            else Agent.otp_secret.is_not(None)
        )
        values: dict[str, Any] = {"otp_last_counter": step}
        if enrol_secret is not None:
            values["otp_secret"] = enrol_secret
        result = self.session.execute(
            update(Agent)
            .where(
                Agent.id == agent.id,
                or_(Agent.otp_last_counter.is_(None), Agent.otp_last_counter < step),
                condition,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0) == 1)

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
        PERMISSIONS_CACHE.invalidate()  # also when nothing changed: a sync is a reset
