"""The Flask-AppBuilder adapter: the security manager (agents as FAB users, second factor,
lockout), roles and their permissions as data, and every workaround of FAB's sharp edges
(``guard``). With ``views/``, the only code that imports ``flask_appbuilder``."""
