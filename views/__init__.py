"""Views by audience: public pages and the taxpayer space (our blueprints, DSFR), the agent,
contacts/summary, steering and directory screens (Flask-AppBuilder)."""

from __future__ import annotations

from flask import Flask
from flask_appbuilder import AppBuilder

from app.fab.security import EContactsSecurityManager
from views import admin, agent, contacts, floor, steering, theme, training
from views.admin import security_screens
from views.admin.agents import AgentUserView
from views.admin.passwords import ResetMyPasswordView, ResetPasswordView
from views.auth import AuthDBView
from views.public import demo, home
from views.public import help as public_help
from views.taxpayer import blueprint as taxpayer_blueprint


class SecurityManager(EContactsSecurityManager):
    """The security manager with its screens: agents (office, our roles, second factor) and the
    two-step sign-in."""

    userdbmodelview = AgentUserView
    authdbview = AuthDBView
    # FAB's stock screens, in French (views/admin/security_screens.py).
    rolemodelview = security_screens.RoleModelView
    groupmodelview = security_screens.UserGroupModelView
    permissionmodelview = security_screens.PermissionModelView
    viewmenumodelview = security_screens.ViewMenuModelView
    permissionviewmodelview = security_screens.PermissionViewModelView
    # FAB's stock password forms (English, no policy) replaced by ours, same routes and names.
    resetpasswordview = ResetPasswordView
    resetmypasswordview = ResetMyPasswordView
    userinfoeditview = security_screens.UserInfoEditView


def register_views(app: Flask, appbuilder: AppBuilder) -> None:
    app.register_blueprint(home.blueprint)
    app.register_blueprint(taxpayer_blueprint)
    app.register_blueprint(public_help.blueprint)
    if app.config["DEMO_MODE"]:
        app.register_blueprint(demo.blueprint)
    if app.config.get("BENCH_FLOOR_ROUTES"):
        app.register_blueprint(floor.blueprint)  # the benchmark's floor, on demand only
    # FAB menus follow the order of registration.
    agent.register(appbuilder)
    contacts.register(appbuilder)
    steering.register(appbuilder)
    training.register(appbuilder)
    admin.register(appbuilder)
    theme.init_app(app, appbuilder)
