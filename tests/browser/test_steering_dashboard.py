"""The steering dashboard in a real Chromium: charts drawn by our own Chart.js, nothing from
outside 127.0.0.1, no console error, axe clean; drill-down to an office; screenshots kept."""

from __future__ import annotations

from datetime import timedelta

import harness
from axe import assert_accessible
from factories import PASSWORD, World, make_agent, make_case, make_topic
from harness import screenshot

from models import CaseStatus, Channel, db


def _cases(world: World) -> None:
    question = make_topic("Question générale")
    claim = make_topic("Réclamation")
    spread = [
        (world.office_a, question, Channel.ONLINE, 1, CaseStatus.NEW),
        (world.office_a, claim, Channel.PHONE, 4, CaseStatus.IN_PROGRESS),
        (world.office_a, question, Channel.ONLINE, 9, CaseStatus.CLOSED),
        (world.office_a, question, Channel.COUNTER, 12, CaseStatus.AWAITING_TAXPAYER),
        (world.office_b, claim, Channel.ONLINE, 2, CaseStatus.CLOSED),
        (world.office_b, question, Channel.ONLINE, 6, CaseStatus.NEW),
        (world.office_b, question, Channel.LETTER, 20, CaseStatus.IN_PROGRESS),
        (world.office_c, claim, Channel.ONLINE, 3, CaseStatus.CLOSED),
        (world.office_c, question, Channel.ONLINE, 45, CaseStatus.NEW),
    ]
    for office, topic, channel, age, status in spread:
        case = make_case(
            world.taxpayer_a, office, topic=topic, channel=channel, age_days=age, status=status
        )
        if status is not CaseStatus.NEW:
            case.first_answer_at = case.received_at + timedelta(days=age / 3)
        if status is CaseStatus.CLOSED:
            case.closed_at = case.received_at + timedelta(days=age / 2)


def test_the_delegation_dashboard_draws_its_charts_offline(page, live_server, world: World) -> None:
    _cases(world)
    pilot = make_agent(world.delegation, "steering")
    username = pilot.username
    directorate_id = world.directorate.id
    db.session.commit()

    harness.sign_in_agent(page, live_server, username, PASSWORD)
    page.goto(f"{live_server}/pilotage/")
    assert page.get_by_role("heading", level=1).inner_text() == "Pilotage : Délégation Centre-Est"
    # Chart.js came from our static files, and each of the three charts was drawn.
    assert page.evaluate("typeof window.Chart") == "function"
    for chart in ("chart-volumes", "chart-backlog", "chart-ontime"):
        canvas = page.locator(f"#{chart}")
        assert canvas.get_attribute("data-chart") == "drawn"
        assert page.evaluate(f"!!window.Chart.getChart('{chart}')")
        # Something was painted: the canvas is not blank.
        painted = page.evaluate(
            """id => { const c = document.getElementById(id);
                       const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                       for (let i = 3; i < d.length; i += 4) { if (d[i] !== 0) return true; }
                       return false; }""",
            chart,
        )
        assert painted, chart
    loaded = page.evaluate(
        "performance.getEntriesByType('resource').map(e => e.name)"
        ".filter(n => n.includes('chart.umd'))"
    )
    assert loaded and all(url.startswith("http://127.0.0.1:") for url in loaded)
    # Every chart has its table with the same figures next to it.
    assert page.get_by_role("table", name="Demandes reçues par jour").is_visible()
    backlog = page.get_by_role("table", name="Stock de demandes ouvertes par ancienneté")
    assert "Plus de 30 jours" in backlog.inner_text()
    assert page.external_requests == []
    assert page.console_errors == []
    assert_accessible(page)
    screenshot(page, "steering-delegation")

    # Drill down to the Rhône, then to an office.
    page.get_by_role("link", name="DDFiP du Rhône").first.click()
    page.wait_for_url(f"**/pilotage/{directorate_id}?*")
    assert page.get_by_role("heading", level=1).inner_text() == "Pilotage : DDFiP du Rhône"
    assert (
        page.get_by_role("navigation", name="Niveau du réseau affiché")
        .get_by_role("link", name="Délégation Centre-Est")
        .is_visible()
    )
    assert page.external_requests == []
    assert page.console_errors == []
    assert_accessible(page)
    screenshot(page, "steering-directorate")

    # A custom period with a mistake: a French message, the typed values kept.
    page.get_by_label("Du Format : AAAA-MM-JJ", exact=True).fill("2026-03-01")
    page.get_by_label("Au Format : AAAA-MM-JJ", exact=True).fill("2026-01-01")
    page.get_by_role("button", name="Afficher la période").click()
    page.wait_for_load_state()
    assert "La date de fin doit être postérieure" in page.content()
    assert page.get_by_label("Du Format : AAAA-MM-JJ", exact=True).input_value() == "2026-03-01"
    assert_accessible(page)
    screenshot(page, "steering-period-error")
