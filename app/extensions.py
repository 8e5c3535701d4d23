"""The Flask extensions, created once and bound to each app by the factory."""

from __future__ import annotations

import contextlib
import smtplib
from types import TracebackType

from flask import current_app
from flask_mail import Connection
from flask_mail import Mail as _FlaskMail
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect

from models.base import db


class TimedConnection(Connection):
    """Flask-Mail's connection with a socket timeout (``MAIL_TIMEOUT``), and a QUIT that cannot
    undo a send: once the server accepted the message, a connection dropped at QUIT is not an
    error (it would make the outbox send the alert again)."""

    def configure_host(self) -> smtplib.SMTP | smtplib.SMTP_SSL:
        timeout = float(current_app.config.get("MAIL_TIMEOUT", 20))
        host: smtplib.SMTP | smtplib.SMTP_SSL
        if self.mail.use_ssl:
            host = smtplib.SMTP_SSL(self.mail.server, self.mail.port, timeout=timeout)
        else:
            host = smtplib.SMTP(self.mail.server, self.mail.port, timeout=timeout)
        host.set_debuglevel(int(self.mail.debug))
        if self.mail.use_tls:
            host.starttls()
        if self.mail.username and self.mail.password:
            host.login(self.mail.username, self.mail.password)
        return host

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.host is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self.host.quit()
            self.host.close()


class Mail(_FlaskMail):
    def connect(self) -> Connection:
        return TimedConnection(current_app.extensions["mail"])


migrate = Migrate(compare_type=True, render_as_batch=True)
mail = Mail()
csrf = CSRFProtect()

__all__ = ["csrf", "db", "mail", "migrate"]
