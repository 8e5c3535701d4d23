"""Issue 21's screens in a real Chromium: the taxpayer's notice that their address does not
receive our e-mails, the agent's summary sheet saying so, the administrator's outbox and workers,
and the French 503 page. Nothing loads from outside, axe finds no serious violation, screenshots
are kept (artifacts/screenshots/reliability-*)."""

from __future__ import annotations

import re
from typing import Any

import harness
import pytest
from axe import assert_accessible
from factories import PASSWORD, World
from harness import screenshot
from helpers import database_down, run_jobs

from jobs.worker import WorkerState, write_heartbeat
from models import db, utcnow

pytestmark = pytest.mark.browser


def assert_clean(page: Any) -> None:
    assert page.external_requests == []
    assert page.console_errors == []
    assert_accessible(page)


def test_undeliverable_address_and_outbox_screens(
    page: Any, live_server: str, app: Any, smtp_server: Any, world: World
) -> None:
    taxpayer = world.taxpayer_a
    identifier, email, taxpayer_id = str(taxpayer.tax_number), str(taxpayer.email), taxpayer.id
    admin = world.admin.username
    agent = world.agent_a.username
    taxpayer.email_undeliverable_at = utcnow()
    taxpayer.email_undeliverable_reason = "550 5.1.1 unknown user"
    db.session.commit()
    write_heartbeat(WorkerState(name="worker-1:4242", sweep_seconds=30, sent_directly=2))

    def read_code() -> str:
        run_jobs(app)
        mail = [m for m in smtp_server.messages if m["To"] == email][-1]
        found = re.search(r"\b(\d{6})\b", mail.get_body(preferencelist=("plain",)).get_content())
        assert found
        return found.group(1)

    harness.sign_in_taxpayer(page, live_server, identifier, PASSWORD, read_code)
    page.goto(f"{live_server}/espace/")
    notice = page.locator("#adresse-injoignable")
    assert "Votre adresse ne reçoit pas nos courriels" in notice.inner_text()
    assert_clean(page)
    screenshot(page, "reliability-taxpayer-undeliverable")
    notice.locator("a").click()
    page.wait_for_load_state()
    assert page.url.endswith("/espace/compte#changer-adresse")
    screenshot(page, "reliability-taxpayer-account")

    harness.sign_in_agent(page, live_server, agent, PASSWORD)
    page.goto(f"{live_server}/agent/usagers/{taxpayer_id}/synthese?reason=appel")
    assert "Adresse injoignable depuis le" in page.content()
    assert_clean(page)
    screenshot(page, "reliability-summary-undeliverable")
    harness.sign_out_agent(page, live_server)

    harness.sign_in_agent(page, live_server, admin, PASSWORD)
    page.goto(f"{live_server}/agent/")
    content = page.content()
    assert "1 adresse d'usager injoignable" in content and "worker-1:4242" in content
    assert_clean(page)
    screenshot(page, "reliability-admin-home")
    page.goto(f"{live_server}/referentiel/alertes-en-echec/")
    assert "1 worker actif" in page.content()
    assert_clean(page)
    screenshot(page, "reliability-admin-outbox")

    # The database goes away: the signed-in administrator gets the French 503 page.
    with database_down(app):
        response = page.goto(f"{live_server}/agent/")
        assert response is not None and response.status == 503
        assert "Service momentanément indisponible" in page.content()
        page.console_errors[:] = [e for e in page.console_errors if "status of 503" not in e]
        assert_clean(page)
        screenshot(page, "reliability-503")
