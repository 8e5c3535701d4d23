"""Loading a directory from CSV: a dry run reports every rejected line and why; a clean file
creates the offices with the right paths and territories, and the agents with their roles."""

from __future__ import annotations

import io

from factories import World
from flask.testing import FlaskClient
from helpers import csrf_token
from sqlalchemy import func, select

from app.directory import imports as directory_import
from models import Agent, Event, EventKind, KindCode, Office, db

BAD_OFFICES = """code,nom,type,parent,courriel,telephone,adresse,territoires
DDFIP01,DDFiP de l'Ain,direction locale,,ddfip01@dgfip.example,,,
SIP010,SIP Ambérieu,sip,DDFIP01,,,,01
SIP011,SIP Bourg,sip,INCONNU,,,,01
SIP012,SIP Oyonnax,bureau,DDFIP01,,,,01
SIP013,SIP Belley,sip,DDFIP01,pas-une-adresse,,,01
SIP013,SIP Belley bis,sip,DDFIP01,,,,01
SIP014,SIP Gex,sip,DDFIP01,,,,Ain
,Sans code,sip,DDFIP01,,,,
SIP015,SIP Nantua,sip,SIP010,,,,01:69001
"""

CLEAN_OFFICES = """code;nom;type;parent;courriel;telephone;adresse;territoires
DI-TEST;Délégation Test;Délégation interrégionale;;;;;
DDFIP01;DDFiP de l'Ain;directorate;DI-TEST;ddfip01@dgfip.example;04 74 00 00 00;1 rue Paix;
SIP011;SIP Bourg-en-Bresse;sip;DDFIP01;sip.bourg@dgfip.example;;;"01:01053|01:01004"
SIE011;SIE Bourg-en-Bresse;Service des impôts des entreprises;DDFIP01;;;;01
"""

BAD_AGENTS = """identifiant,prenom,nom,courriel,service,roles
a.un,Anne,Un,anne.un@dgfip.example,SIP011,agent
a.un,Anne,Bis,anne.bis@dgfip.example,SIP011,agent
b deux,Bruno,Deux,bruno.deux@dgfip.example,SIP011,agent
c.trois,Chloé,Trois,pas-une-adresse,SIP011,agent
d.quatre,David,Quatre,david.quatre@dgfip.example,NULLEPART,agent
e.cinq,Emma,Cinq,emma.cinq@dgfip.example,SIP011,agent;sorcier
f.six,,Six,f.six@dgfip.example,SIP011,agent
g.sept,Gilles,Sept,anne.un@dgfip.example,SIP011,agent
h.huit,Hugo,Huit,hugo.huit@dgfip.example,,agent
"""


def _reasons(report: directory_import.ImportReport) -> dict[int, str]:
    """Each rejected line's reason, lower-cased at its start to be quoted mid-sentence."""
    return {r.line: r.message[:1].lower() + r.message[1:] for r in report.rejected}


def test_dry_run_of_a_file_full_of_errors_reports_each_line(world: World) -> None:
    report = directory_import.import_offices(BAD_OFFICES, dry_run=True)
    reasons = _reasons(report)
    assert sorted(reasons) == [4, 5, 6, 7, 8, 9, 10]
    assert "service parent « INCONNU » inconnu" in reasons[4]
    assert "type de service inconnu « bureau »" in reasons[5]
    assert "adresse électronique invalide « pas-une-adresse »" in reasons[6]
    assert "code « SIP013 » en double dans le fichier (déjà ligne 6)" in reasons[7]
    assert "territoire « Ain » invalide" in reasons[8]
    assert "code du service manquant" in reasons[9]
    assert "n'est ni une direction ni une délégation" in reasons[10]
    assert "commencer par le département" in reasons[10]  # both problems of a line are given
    assert report.created == ["DDFIP01 — DDFiP de l'Ain", "SIP010 — SIP Ambérieu"]
    assert not report.applied
    assert db.session.scalar(select(Office).where(Office.code == "DDFIP01")) is None


def test_a_rejected_line_means_nothing_is_applied(world: World) -> None:
    before = db.session.scalar(select(func.count()).select_from(Office))
    report = directory_import.import_offices(BAD_OFFICES, dry_run=False)
    db.session.rollback()
    assert not report.applied and report.rejected
    assert db.session.scalar(select(func.count()).select_from(Office)) == before


def test_clean_import_creates_offices_with_paths_then_agents_with_roles(world: World) -> None:
    dry = directory_import.import_offices(CLEAN_OFFICES, dry_run=True)
    assert dry.ok and len(dry.created) == 4 and not dry.applied
    report = directory_import.import_offices(CLEAN_OFFICES, dry_run=False)
    assert report.ok and report.applied
    db.session.commit()
    offices = {o.code: o for o in db.session.scalars(select(Office))}
    delegation, directorate = offices["DI-TEST"], offices["DDFIP01"]
    sip, sie = offices["SIP011"], offices["SIE011"]
    assert delegation.kind.code == KindCode.DELEGATION and delegation.path == f"/{delegation.id}/"
    assert directorate.path == f"/{delegation.id}/{directorate.id}/"
    assert sip.path == f"{directorate.path}{sip.id}/"
    assert sie.kind.code == KindCode.SIE and sie.parent_id == directorate.id
    assert sorted((t.departement, t.commune_code) for t in sip.territories) == [
        ("01", "01004"),
        ("01", "01053"),
    ]
    assert directorate.address == "1 rue Paix"

    agents_csv = (
        "identifiant,prenom,nom,courriel,service,roles\n"
        "a.un,Anne,Un,anne.un@dgfip.example,SIP011,agent\n"
        "b.deux,Bruno,Deux,bruno.deux@dgfip.example,sip011,agent|chef de service\n"
        "c.trois,Chloé,Trois,chloe.trois@dgfip.example,DDFIP01,pilote\n"
        f"{world.agent_a.username},Camille,Renommée,{world.agent_a.email},SIE011,agent\n"
    )
    report = directory_import.import_agents(agents_csv, dry_run=False)
    assert report.ok, report.rejected
    assert len(report.created) == 3 and len(report.updated) == 1
    db.session.commit()
    agents = {a.username: a for a in db.session.scalars(select(Agent))}
    assert agents["a.un"].office_id == sip.id and agents["a.un"].role_names == {"agent"}
    assert agents["b.deux"].role_names == {"agent", "office_manager"}
    assert agents["c.trois"].office_id == directorate.id
    assert agents["c.trois"].role_names == {"steering"}
    moved = agents[world.agent_a.username]
    assert moved.office_id == sie.id and moved.last_name == "Renommée"
    # New agents have no usable password until an administrator sets one.
    assert agents["a.un"].password is not None and agents["a.un"].password.startswith("!")

    # Moving a directorate with the importer moves its offices' paths too.
    again = directory_import.import_offices(
        "code,nom,type,parent\nDDFIP01,DDFiP de l'Ain,directorate,\n", dry_run=False
    )
    assert again.ok and again.updated == ["DDFIP01 — DDFiP de l'Ain"]
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Office, directorate.id).path == f"/{directorate.id}/"  # type: ignore[union-attr]
    assert db.session.get(Office, sip.id).path == f"/{directorate.id}/{sip.id}/"  # type: ignore[union-attr]


def test_agents_dry_run_reports_each_bad_line(world: World) -> None:
    directory_import.import_offices(CLEAN_OFFICES, dry_run=False)
    db.session.commit()
    report = directory_import.import_agents(BAD_AGENTS, dry_run=True)
    reasons = _reasons(report)
    assert sorted(reasons) == [3, 4, 5, 6, 7, 8, 9, 10]
    assert "identifiant « a.un » en double dans le fichier (déjà ligne 2)" in reasons[3]
    assert "identifiant « b deux » invalide" in reasons[4]
    assert "adresse électronique invalide « pas-une-adresse »" in reasons[5]
    assert "service « NULLEPART » inconnu" in reasons[6]
    assert "rôle inconnu « sorcier »" in reasons[7]
    assert "prénom manquant" in reasons[8]
    assert "« anne.un@dgfip.example » en double dans le fichier" in reasons[9]
    assert "service manquant" in reasons[10]
    assert report.created == ["a.un — Anne Un"]


def test_missing_columns_and_cycles_are_reported(world: World) -> None:
    report = directory_import.import_offices("code,nom\nX,Y\n", dry_run=True)
    assert report.rejected[0].line == 1 and "type" in report.rejected[0].message
    # The delegation under its own directorate: a loop.
    loop = (
        "code,nom,type,parent\n"
        f"{world.delegation.code},Délégation,delegation,{world.directorate.code}\n"
    )
    report = directory_import.import_offices(loop, dry_run=True)
    assert report.rejected and "dépend déjà" in report.rejected[0].message


def test_import_page_dry_run_then_real_run(world: World, admin_client: FlaskClient) -> None:
    def send(content: str, dry_run: bool, kind: str = "offices", encoding: str = "utf-8") -> str:
        data = {
            "csrf_token": csrf_token(admin_client, "/referentiel/import/"),
            "kind": kind,
            "file": (io.BytesIO(content.encode(encoding)), "annuaire.csv"),
        }
        if dry_run:
            data["dry_run"] = "y"
        response = admin_client.post(
            "/referentiel/import/", data=data, content_type="multipart/form-data"
        )
        assert response.status_code == 200
        return response.get_data(as_text=True)

    page = send(BAD_OFFICES, dry_run=True)
    assert "Résultat de la simulation" in page
    assert "7 ligne(s) refusée(s)" in page
    assert "Service parent « INCONNU » inconnu" in page
    assert "Type de service inconnu « bureau »" in page

    page = send(CLEAN_OFFICES, dry_run=True)
    assert "aucune ligne refusée" in page and "À créer (4)" in page
    assert db.session.scalar(select(Office).where(Office.code == "SIP011")) is None

    page = send(CLEAN_OFFICES, dry_run=False)
    assert "Import appliqué : 4 créé(s), 0 mis à jour." in page
    assert db.session.scalar(select(Office).where(Office.code == "SIP011")) is not None

    # A spreadsheet's Windows-1252 export is read too.
    agents = (
        "identifiant,prenom,nom,courriel,service,roles\n"
        "z.zoe,Zoé,Zèbre,z@dgfip.example,SIP011,agent\n"
    )
    page = send(agents, dry_run=False, kind="agents", encoding="cp1252")
    assert "Import appliqué : 1 créé(s)" in page
    agent = db.session.scalar(select(Agent).where(Agent.username == "z.zoe"))
    assert agent is not None and agent.first_name == "Zoé"
    # Each applied file is recorded with who sent it; simulations are not.
    imported = db.session.scalars(
        select(Event).where(Event.kind == EventKind.DIRECTORY_IMPORTED).order_by(Event.id)
    ).all()
    assert [(e.data["file"], e.data["created"], e.data["updated"]) for e in imported] == [
        ("offices", 4, 0),
        ("agents", 1, 0),
    ]
    assert {e.actor_agent_id for e in imported} == {world.admin.id}

    # No file: a French message, not an error page.
    response = admin_client.post(
        "/referentiel/import/",
        data={"csrf_token": csrf_token(admin_client, "/referentiel/import/"), "kind": "offices"},
        content_type="multipart/form-data",
    )
    assert "Choisissez un fichier CSV." in response.get_data(as_text=True)
