"""The agents' login with its second factor, in Chromium under the real Content-Security-Policy:
enrolment, the code, a FAB list page; nothing blocked by the CSP, nothing from outside,
accessible; a script written in a message is shown as text on both sides."""

from __future__ import annotations

from axe import assert_accessible
from factories import PASSWORD, make_agent, make_case, make_office
from harness import screenshot, sign_in_agent
from helpers import enrolment_link, open_server_session

from models import AuthorKind, KindCode, Message, db

SCRIPT = '<script>alert("pirate")</script> voir https://www.impots.gouv.fr/portail'


def _no_csp_trouble(page) -> None:  # type: ignore[no-untyped-def]
    assert page.external_requests == []
    assert page.console_errors == [], page.console_errors


def test_agent_enrols_then_signs_in_under_the_csp(app, page, live_server, app_context) -> None:  # type: ignore[no-untyped-def]
    office = make_office(KindCode.SIP, name="SIP Lyon 3e")
    admin = make_agent(office, "admin", "agent", username="camille.admin")
    db.session.commit()

    page.goto(f"{live_server}/login/")
    assert page.get_by_role("heading", level=1).inner_text() == "e-contacts — Connexion des agents"
    assert page.get_by_label("Identifiant").is_visible()
    assert page.get_by_label("Mot de passe").is_visible()
    assert_accessible(page)
    screenshot(page, "security-agent-login")

    page.fill("input[name=username]", admin.username)
    page.fill("input[name=password]", "faux mot de passe")
    page.locator("form [type=submit]").first.click()
    page.wait_for_load_state()
    assert "Identifiant ou mot de passe incorrect." in page.content()
    assert_accessible(page)
    screenshot(page, "security-agent-login-error")

    page.fill("input[name=username]", admin.username)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form [type=submit]").first.click()
    page.wait_for_url("**/login/otp")
    # The password alone shows no secret (issue 20, finding 4): a link goes to the agent's address.
    assert page.locator("#enrolment-sent").is_visible()
    assert page.locator("#otp-secret").count() == 0
    assert_accessible(page)
    screenshot(page, "security-agent-enrolment-link-sent")
    page.goto(live_server + enrolment_link(app, admin.username))
    page.wait_for_url("**/login/otp")
    assert page.locator("#otp-secret").get_attribute("data-secret")
    qr = page.locator("#otp-qr svg")
    assert qr.is_visible() and qr.bounding_box()["width"] >= 100  # type: ignore[index]
    assert_accessible(page)
    screenshot(page, "security-agent-otp-enrolment")
    _no_csp_trouble(page)

    secret = page.locator("#otp-secret").get_attribute("data-secret")
    import pyotp

    page.fill("input[name=otp]", pyotp.TOTP(secret).now())
    page.locator("form [type=submit]").first.click()
    page.wait_for_load_state()
    assert admin.full_name in page.content() or "Bonjour" in page.content()
    _no_csp_trouble(page)

    # Signed out, then the code page (no enrolment any more) on the next login.
    # Logout is a POST with its token (issue 20, finding 8): the navbar's form.
    with page.expect_navigation():
        page.locator("form.navbar-logout").first.evaluate("form => form.submit()")
    assert page.request.get(f"{live_server}/logout/").status == 405  # a GET signs nobody out
    page.goto(f"{live_server}/login/")
    page.fill("input[name=username]", admin.username)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form [type=submit]").first.click()
    page.wait_for_url("**/login/otp")
    assert page.locator("#otp-secret").count() == 0
    assert_accessible(page)
    screenshot(page, "security-agent-otp")
    _no_csp_trouble(page)


def test_a_script_in_a_message_is_text_on_both_sides(app, page, live_server, world) -> None:  # type: ignore[no-untyped-def]
    case = make_case(world.taxpayer_a, world.office_a, subject="Question")
    db.session.add(Message(case=case, author_kind=AuthorKind.TAXPAYER, body=SCRIPT))
    db.session.commit()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    # The taxpayer's own login (with its e-mailed code) is tested by the taxpayer space: here a
    # signed session cookie, as after that login.
    token = open_server_session(app.test_client(), taxpayer=world.taxpayer_a)
    cookie = app.session_interface.get_signing_serializer(app).dumps(
        {"taxpayer_id": world.taxpayer_a.id, "taxpayer_sid": token}
    )
    page.context.add_cookies(
        [{"name": app.config["SESSION_COOKIE_NAME"], "value": cookie, "url": live_server}]
    )
    page.goto(f"{live_server}/espace/demandes/{case.reference}")
    assert page.get_by_text('<script>alert("pirate")</script>', exact=False).count() >= 1
    screenshot(page, "security-script-as-text-taxpayer")

    page.context.clear_cookies()
    world.agent_a.otp_secret = None
    db.session.commit()
    sign_in_agent(page, live_server, world.agent_a.username, PASSWORD)
    page.goto(f"{live_server}/agent/demandes/{case.id}")
    assert page.get_by_text('<script>alert("pirate")</script>', exact=False).count() >= 1
    link = page.locator('a[href="https://www.impots.gouv.fr/portail"]')
    assert link.count() >= 1 and "noopener" in (link.first.get_attribute("rel") or "")
    screenshot(page, "security-script-as-text-agent")
    assert dialogs == []
    _no_csp_trouble(page)


def test_fab_list_pages_work_under_the_csp(app, page, live_server, world) -> None:  # type: ignore[no-untyped-def]
    """FAB's screens in DSFR run no inline script: the delete confirmation is the DSFR modal
    opened by agent.js from a data-ec-confirm attribute; it keeps the focus inside."""
    world.admin.otp_secret = None
    db.session.commit()
    sign_in_agent(page, live_server, world.admin.username, PASSWORD)
    page.goto(f"{live_server}/users/list/")
    page.wait_for_load_state()
    _no_csp_trouble(page)
    screenshot(page, "security-fab-users-list")
    page.goto(f"{live_server}/roles/list/")
    page.wait_for_load_state()
    _no_csp_trouble(page)
    screenshot(page, "security-fab-roles-list")
    page.locator("form[data-ec-confirm] button[type=submit]").first.click()
    page.locator("#ec-confirm").wait_for(state="visible", timeout=5000)
    assert page.evaluate("document.getElementById('ec-confirm').contains(document.activeElement)")
    page.keyboard.press("Escape")
    page.locator("#ec-confirm").wait_for(state="hidden", timeout=5000)
    _no_csp_trouble(page)
