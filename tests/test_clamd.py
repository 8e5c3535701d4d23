"""Attachments go through a real clamd (INSTREAM) when one is configured (issue 20, finding 12).

The test starts its own clamd (Debian's clamav-daemon, installed by ``make setup`` through
scripts/install_chromium.sh) on a Unix socket under the test's folder, with a local signature
database: the EICAR test signature and one custom signature (offline, ClamAV has no official
signatures; no freshclam, nothing downloaded). Never skipped: without clamd the tests fail.
"""

# ruff: noqa: F811 - fixtures imported from other test modules are used as parameters

from __future__ import annotations

import io
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from factories import World, make_topic
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from test_taxpayer_space import case_count, good_case, post_case, topics  # noqa: F401

from app.cases import operations
from app.cases.attachments import IncomingFile
from models import Attachment, Case, Topic, db

CLAMD = shutil.which("clamd") or "/usr/sbin/clamd"
MARKER = b"ECONTACTS-TEST-VIRUS-SIGNATURE-0001"
PDF = (Path(__file__).parent / "data" / "avis.pdf").read_bytes()

# The antivirus industry's test file, written in two halves so that no scanner flags this source.
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-" + b"ANTIVIRUS-TEST-FILE!$H+H*"


@pytest.fixture(scope="module")
def clamd_socket(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not os.access(CLAMD, os.X_OK):
        pytest.fail("clamd is missing: run `make setup` (installs Debian's clamav-daemon)")
    folder = tmp_path_factory.mktemp("clamd")
    database = folder / "db"
    database.mkdir()
    # A body-based signature (.ndb): any file containing the marker is "infected".
    (database / "econtacts-test.ndb").write_text(
        f"Econtacts.Test.Signature:0:*:{MARKER.hex()}\nEicar-Test-Signature:0:*:{EICAR.hex()}\n"
    )
    socket_path = folder / "clamd.sock"
    config = folder / "clamd.conf"
    config.write_text(
        f"LocalSocket {socket_path}\nDatabaseDirectory {database}\nForeground yes\n"
        f"LogFile {folder / 'clamd.log'}\nPidFile {folder / 'clamd.pid'}\n"
        "StreamMaxLength 20M\n"
    )
    process = subprocess.Popen(
        [CLAMD, f"--config-file={config}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        for _ in range(300):
            if socket_path.exists():
                break
            if process.poll() is not None:
                log = (folder / "clamd.log").read_text(errors="replace")[-500:]
                pytest.fail(f"clamd stopped: {log}")
            time.sleep(0.1)
        else:
            pytest.fail("clamd did not open its socket within 30 s")
        yield str(socket_path)
    finally:
        process.terminate()
        process.wait(timeout=10)


def _submit(world: World, content: bytes):  # type: ignore[no-untyped-def]
    return operations.submit_case(
        taxpayer=world.taxpayer_a,
        topic=make_topic(),
        tax_matter=None,
        tax_year=None,
        subject="Justificatif",
        body="Voici le justificatif.",
        files=[IncomingFile(filename="justificatif.pdf", stream=io.BytesIO(content))],
    )


def test_a_clean_file_passes_and_an_infected_one_is_refused_and_kept_nowhere(
    app: Flask, world: World, clamd_socket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "CLAMD_ADDRESS", f"unix:{clamd_socket}")
    case = _submit(world, PDF)
    db.session.commit()
    assert case.messages[0].attachments[0].size == len(PDF)

    infected = PDF.replace(b"%%EOF", b"% " + MARKER + b"\n%%EOF")
    with pytest.raises(operations.OperationError) as refused:
        _submit(world, infected)
    assert "refusé par l'analyse antivirus" in refused.value.message
    db.session.rollback()
    assert db.session.scalar(select(func.count(Case.id))) == 1
    assert db.session.scalar(select(func.count(Attachment.id))) == 1
    stored = [p for p in Path(app.config["ATTACHMENT_DIR"]).rglob("*") if p.is_file()]
    assert len(stored) == 1 and MARKER not in stored[0].read_bytes()


def test_clamd_unreachable_refuses_the_submission_clearly(
    app: Flask, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "CLAMD_ADDRESS", f"unix:{tmp_path / 'nothing.sock'}")
    with pytest.raises(operations.OperationError, match="n'ont pas pu être enregistrées"):
        _submit(world, PDF)
    db.session.rollback()
    assert db.session.scalar(select(func.count(Case.id))) == 0


def test_finding_12_a_pdf_carrying_eicar_is_refused_through_the_taxpayer_form(
    app: Flask,
    taxpayer_client: FlaskClient,
    topics: dict[str, Topic],
    clamd_socket: str,
    monkeypatch: pytest.MonkeyPatch,
    app_context: None,
) -> None:
    monkeypatch.setitem(app.config, "CLAMD_ADDRESS", f"unix:{clamd_socket}")
    infected = PDF.replace(b"%%EOF", b"% " + EICAR + b"\n%%EOF")
    response = post_case(
        taxpayer_client, good_case(topics, files=[(io.BytesIO(infected), "avis.pdf")])
    )
    assert response.status_code == 400
    assert "refusé par l&#39;analyse antivirus" in response.get_data(as_text=True)
    assert case_count() == 0
    assert not [p for p in Path(app.config["ATTACHMENT_DIR"]).rglob("*") if p.is_file()]
    clean = post_case(taxpayer_client, good_case(topics, files=[(io.BytesIO(PDF), "avis.pdf")]))
    assert clean.status_code == 302
