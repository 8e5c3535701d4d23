"""Attachment storage failing: disk full, folder unwritable, the database refusing the commit.

The submission is refused with a clear French message, no row points to a missing file and no
file is left without its row.
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from factories import World, make_topic
from faultkit import pdf_bytes, report
from flask import Flask
from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

import app.cases.attachments as attachments
from app.cases import operations
from app.cases.attachments import IncomingFile
from models import Attachment, Case, Message, db

DATA = Path(__file__).resolve().parents[1] / "data"
REFUSAL = "Vos pièces jointes n'ont pas pu être enregistrées pour le moment : rien n'a été envoyé."


def files_on_disk(app: Flask) -> list[Path]:
    return [p for p in Path(app.config["ATTACHMENT_DIR"]).rglob("*") if p.is_file()]


def three_files() -> list[IncomingFile]:
    return [
        IncomingFile("avis.pdf", io.BytesIO(pdf_bytes(200_000))),
        IncomingFile("photo.png", io.BytesIO((DATA / "photo.png").read_bytes())),
        IncomingFile("releve.pdf", io.BytesIO(pdf_bytes(300_000))),
    ]


def submit(world: World, files: list[IncomingFile]) -> Case:
    topic = make_topic()
    db.session.commit()
    return operations.submit_case(
        taxpayer=world.taxpayer_a,
        topic=topic,
        tax_matter=None,
        tax_year=None,
        subject="Mon avis d'impôt",
        body="Bonjour, voici mes justificatifs.",
        files=files,
    )


def assert_nothing_left(app: Flask) -> None:
    db.session.rollback()
    assert db.session.scalar(select(func.count(Case.id))) == 0
    assert db.session.scalar(select(func.count(Message.id))) == 0
    assert db.session.scalar(select(func.count(Attachment.id))) == 0
    assert files_on_disk(app) == [], "orphan files left in the attachment store"


class _FullDisk:
    """A file that accepts ``room`` bytes, then fails as a full disk does."""

    def __init__(self, real: Any, room: int) -> None:
        self.real = real
        self.room = room

    def write(self, chunk: bytes) -> int:
        if len(chunk) > self.room:
            self.real.write(chunk[: self.room])
            self.room = 0
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.room -= len(chunk)
        return int(self.real.write(chunk))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def __enter__(self) -> _FullDisk:
        return self

    def __exit__(self, *exc: object) -> None:
        self.real.close()


def test_disk_full_on_the_third_file_refuses_and_leaves_nothing(
    world: World, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[str] = []

    def filling_open(path: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        real = open(path, mode, *args, **kwargs)  # noqa: SIM115
        opened.append(str(path))
        return _FullDisk(real, 100_000) if len(opened) == 3 else real

    monkeypatch.setattr(attachments, "open", filling_open, raising=False)
    with pytest.raises(operations.OperationError) as refused:
        submit(world, three_files())
    assert refused.value.message.startswith(REFUSAL) and refused.value.field == "files"
    report("disk full on the 3rd file", files_written_then_removed=len(opened) - 1)
    assert len(opened) == 3
    assert_nothing_left(app)


def test_fsync_failing_refuses_and_leaves_nothing(
    world: World, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    real_fsync = os.fsync

    def failing_fsync(fd: int) -> None:
        calls.append(fd)
        if len(calls) == 2:
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        real_fsync(fd)

    monkeypatch.setattr(attachments.os, "fsync", failing_fsync)
    with pytest.raises(operations.OperationError) as refused:
        submit(world, three_files())
    assert refused.value.message.startswith(REFUSAL)
    assert_nothing_left(app)


def test_an_unwritable_store_refuses_with_a_clear_message(
    world: World, app: Flask, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Something that is not a folder where the store should be: even root cannot write there.
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    monkeypatch.setitem(app.config, "ATTACHMENT_DIR", str(blocker / "attachments"))
    with pytest.raises(operations.OperationError) as refused:
        submit(world, three_files())
    assert refused.value.message.startswith(REFUSAL)
    db.session.rollback()
    assert db.session.scalar(select(func.count(Case.id))) == 0
    assert blocker.read_text() == "x"


@pytest.fixture
def tiny_tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A real 256 KiB filesystem (needs root and the right to mount; skipped otherwise)."""
    mountpoint = tmp_path / "tiny"
    mountpoint.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mountpoint)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", str(mountpoint)], check=False)


def test_a_really_full_filesystem_refuses_and_leaves_nothing(
    world: World, app: Flask, monkeypatch: pytest.MonkeyPatch, tiny_tmpfs: Path
) -> None:
    monkeypatch.setitem(app.config, "ATTACHMENT_DIR", str(tiny_tmpfs))
    with pytest.raises(operations.OperationError) as refused:
        submit(world, three_files())  # 500 kB into 256 KiB
    assert refused.value.message.startswith(REFUSAL)
    db.session.rollback()
    assert db.session.scalar(select(func.count(Attachment.id))) == 0
    assert files_on_disk(app) == []


def test_files_are_removed_when_the_commit_fails_after_they_were_written(
    world: World, app: Flask
) -> None:
    case = submit(world, three_files())
    written = files_on_disk(app)
    assert len(written) == 3 and case.id

    def database_gone(session: Session) -> None:
        raise OperationalError("COMMIT", {}, Exception("server closed the connection"))

    event.listen(db.session(), "before_commit", database_gone)
    try:
        with pytest.raises(OperationalError):
            db.session.commit()
    finally:
        event.remove(db.session(), "before_commit", database_gone)
    report("commit refused after 3 files written", files_left=len(files_on_disk(app)))
    assert_nothing_left(app)


def test_after_a_successful_submission_every_row_has_its_file(world: World, app: Flask) -> None:
    submit(world, three_files())
    db.session.commit()
    rows = db.session.scalars(select(Attachment)).all()
    on_disk = {p.name for p in files_on_disk(app)}
    assert {row.storage_key for row in rows} == on_disk and len(rows) == 3
    for row in rows:
        content = attachments.path_of(row.storage_key).read_bytes()
        assert hashlib.sha256(content).hexdigest() == row.sha256 and len(content) == row.size
