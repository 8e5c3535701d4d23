"""Attachments: checked by content, stored outside the web root under random names.

A file is written before the transaction that references it commits. If that transaction rolls
back, the files written for it are removed (``after_rollback``), so no orphan is left and no row
ever points to a missing file: a row exists only if its commit succeeded after the file was
fully written and synced.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import secrets
import socket
import struct
import time
import unicodedata
import zlib
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import IO
from weakref import WeakKeyDictionary

import magic
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session, SessionTransaction

from app.platform.db import listen_once
from models import Attachment, db

log = logging.getLogger(__name__)

ALLOWED_TYPES = {
    "application/pdf": ".pdf",
    "image/jpeg": ".jpg",
    "image/png": ".png",
}
_SESSION_KEY = "econtacts_written_files"
_CHUNK = 64 * 1024


class AttachmentRejected(ValueError):
    """A file refused, with the French message to show (nothing was stored)."""


class StorageUnavailable(RuntimeError):
    """The attachment store cannot be written: the whole submission must be refused."""


@dataclass(frozen=True)
class IncomingFile:
    filename: str
    stream: IO[bytes]


@dataclass(frozen=True)
class StoredFile:
    filename: str
    storage_key: str
    content_type: str
    size: int
    sha256: str


def limits() -> tuple[int, int]:
    config = current_app.config
    return int(config["ATTACHMENT_MAX_COUNT"]), int(config["ATTACHMENT_MAX_BYTES"])


def human_size(size: int) -> str:
    if size >= 1024 * 1024:
        return _("%(n)s Mo", n=f"{size / (1024 * 1024):.0f}")
    return _("%(n)s ko", n=max(1, round(size / 1024)))


# Characters that change the direction text is shown in (U+202E makes "facture\u202efdp.exe"
# read "factureexe.pdf"): never kept in a name, whatever Python thinks printable.
_BIDI = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Extensions accepted as they are for each detected type; any other gets the type's own.
_EXTENSIONS = {
    "application/pdf": (".pdf",),
    "image/jpeg": (".jpg", ".jpeg"),
    "image/png": (".png",),
}


def clean_filename(name: str) -> str:
    """The name to show: no path, no control or direction characters, at most 120 characters."""
    name = unicodedata.normalize("NFC", name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(
        ch
        for ch in name
        if ch.isprintable()
        and ch not in _BIDI
        and unicodedata.category(ch) != "Cf"
        and ch not in '<>:"|?*'
    )
    name = name.strip(" .") or "piece-jointe"
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    return (stem[: 120 - len(ext) - 1] + ("." + ext if ext else "")).strip()


def stored_name(name: str, content_type: str) -> str:
    """The name kept for a file: cleaned, with the extension of the type detected in its
    content ("page.html" holding a PDF is kept as "page.pdf"; issue 20, finding 13)."""
    name = clean_filename(name)
    accepted = _EXTENSIONS.get(content_type, ())
    stem, dot, ext = name.rpartition(".")
    if dot and "." + ext.lower() in accepted:
        return name
    base = (stem if dot else name).strip(" .") or "piece-jointe"
    return clean_filename(base + (accepted[0] if accepted else ""))


# Active content a PDF reader may run or open: refused. Names may be written with #xx escapes.
_ACTIVE_PDF_NAMES = {
    b"JavaScript",
    b"JS",
    b"Launch",
    b"EmbeddedFile",
    b"EmbeddedFiles",
    b"RichMedia",
    b"XFA",
}
_PDF_NAME = re.compile(rb"/([^\s/\[\]<>(){}%]+)")
_PDF_STREAM = re.compile(rb"stream\r?\n(.*?)\r?\n?endstream", re.S)
_PDF_INFLATE_LIMIT = 20 * 1024 * 1024


def _pdf_names(data: bytes) -> set[bytes]:
    names = set()
    for match in _PDF_NAME.finditer(data):
        raw = match.group(1)
        names.add(re.sub(rb"#([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), raw))
    return names


def pdf_active_content(data: bytes) -> set[str]:
    """The kinds of active content a PDF holds (JavaScript, launch actions, embedded files...),
    looked for in its text and in its compressed streams (object streams hide them there)."""
    found = _pdf_names(data) & _ACTIVE_PDF_NAMES
    budget = _PDF_INFLATE_LIMIT
    for match in _PDF_STREAM.finditer(data):
        if budget <= 0:
            break
        try:
            inflated = zlib.decompressobj().decompress(match.group(1), budget)
        except zlib.error:
            continue
        budget -= len(inflated)
        found |= _pdf_names(inflated) & _ACTIVE_PDF_NAMES
    return {name.decode() for name in found}


def _path(storage_key: str) -> Path:
    root = Path(current_app.config["ATTACHMENT_DIR"])
    return root / storage_key[:2] / storage_key[2:4] / storage_key


def path_of(storage_key: str) -> Path:
    return _path(storage_key)


# The streams that passed ``check_files``, with the type detected in their content: the view
# checks a form's files (to show every error at once), then the operation stores them, and
# ``store_files`` does not read and scan the same bytes a second time.
_CHECKED: WeakKeyDictionary[IO[bytes], str] = WeakKeyDictionary()


def _checked_type(incoming: IncomingFile) -> str | None:
    try:
        return _CHECKED.get(incoming.stream)
    except TypeError:  # a stream that cannot be weakly referenced is checked every time
        return None


def check_files(files: list[IncomingFile]) -> None:
    """Refuse the set before anything is written: count, then each file's size and type."""
    max_count, max_bytes = limits()
    files = [f for f in files if f.filename]
    if len(files) > max_count:
        raise AttachmentRejected(
            _("Vous pouvez joindre au plus %(n)s fichiers à un message.", n=max_count)
        )
    for incoming in files:
        if _checked_type(incoming) is not None:
            continue
        name = clean_filename(incoming.filename)
        head = incoming.stream.read(8192)
        incoming.stream.seek(0, os.SEEK_END)
        size = incoming.stream.tell()
        incoming.stream.seek(0)
        if size == 0:
            raise AttachmentRejected(_("Le fichier « %(name)s » est vide.", name=name))
        if size > max_bytes:
            raise AttachmentRejected(
                _(
                    "Le fichier « %(name)s » dépasse la taille autorisée (%(max)s).",
                    name=name,
                    max=human_size(max_bytes),
                )
            )
        kind = magic.from_buffer(head, mime=True)
        if kind not in ALLOWED_TYPES:
            raise AttachmentRejected(
                _(
                    "Le fichier « %(name)s » n'est pas un PDF, un JPEG ou un PNG : "
                    "seuls ces formats sont acceptés.",
                    name=name,
                )
            )
        if kind == "application/pdf":
            incoming.stream.seek(0)
            active = pdf_active_content(incoming.stream.read())
            incoming.stream.seek(0)
            if active:
                log.warning("PDF with active content refused: %s (%s)", name, sorted(active))
                raise AttachmentRejected(
                    _(
                        "Le fichier « %(name)s » contient des éléments actifs (JavaScript, "
                        "lancement d'application ou fichiers incorporés) : il a été refusé. "
                        "Enregistrez-le à nouveau en PDF simple, par exemple avec la fonction "
                        "« Imprimer en PDF », puis joignez-le.",
                        name=name,
                    )
                )
        with contextlib.suppress(TypeError):
            _CHECKED[incoming.stream] = kind


def store_files(files: list[IncomingFile]) -> list[StoredFile]:
    """Check, scan, then write each file; on any failure, remove what was written and raise."""
    files = [f for f in files if f.filename]
    check_files(files)
    stored: list[StoredFile] = []
    try:
        for incoming in files:
            stored.append(_store_one(incoming))
    except BaseException:
        for item in stored:
            _remove(item.storage_key)
        raise
    return stored


def _store_one(incoming: IncomingFile) -> StoredFile:
    content_type = _checked_type(incoming)
    if content_type is None:  # pragma: no cover - check_files has just recorded it
        incoming.stream.seek(0)
        content_type = magic.from_buffer(incoming.stream.read(8192), mime=True)
    incoming.stream.seek(0)
    name = stored_name(incoming.filename, content_type)
    scan(incoming.stream, name)
    incoming.stream.seek(0)
    storage_key = secrets.token_hex(16)
    target = _path(storage_key)
    digest = hashlib.sha256()
    size = 0
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "xb") as out:
            while chunk := incoming.stream.read(_CHUNK):
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
    except OSError as error:
        log.error("attachment store failed: %s", error)
        with contextlib.suppress(OSError):  # the folder itself may be what fails
            target.unlink(missing_ok=True)
        raise StorageUnavailable(str(error)) from error
    _remember(storage_key)
    return StoredFile(
        filename=name,
        storage_key=storage_key,
        content_type=content_type,
        size=size,
        sha256=digest.hexdigest(),
    )


def _remove(storage_key: str) -> None:
    try:
        _path(storage_key).unlink(missing_ok=True)
    except OSError as error:  # pragma: no cover - logged, the sweep will find it
        log.error("could not remove attachment %s: %s", storage_key, error)


# --- files written in a transaction that rolls back are removed ------------------------------


def _remember(storage_key: str) -> None:
    db.session.info.setdefault(_SESSION_KEY, []).append(storage_key)


def _forget(session: Session) -> None:
    session.info.pop(_SESSION_KEY, None)


def _discard(session: Session, transaction: SessionTransaction) -> None:
    """The outermost transaction ended without a commit (rollback or close): drop its files."""
    if transaction.nested or transaction.parent is not None:
        return
    keys = session.info.pop(_SESSION_KEY, None)
    if not keys:
        return
    for key in keys:
        _remove(key)


def install() -> None:
    """Files written in a transaction that ends without a commit are removed (from the factory)."""
    listen_once(Session, "after_commit", _forget)
    listen_once(Session, "after_transaction_end", _discard)


# --- virus scan (clamd INSTREAM) -------------------------------------------------------------


class InfectedFile(AttachmentRejected):
    pass


def scan(stream: IO[bytes], name: str) -> None:
    """Send the file to clamd when an address is configured; refuse it if reported infected."""
    address = current_app.config.get("CLAMD_ADDRESS")
    if not address:
        return
    try:
        reply = _instream(address, stream)
    except OSError as error:
        log.error("clamd unreachable at %s: %s", address, error)
        raise StorageUnavailable(
            _("L'analyse antivirus est momentanément indisponible.")
        ) from error
    if reply.endswith(b"FOUND"):
        log.warning("infected attachment refused: %s (%s)", name, reply.decode(errors="replace"))
        raise InfectedFile(
            _(
                "Le fichier « %(name)s » a été refusé par l'analyse antivirus : "
                "il n'a pas été enregistré.",
                name=name,
            )
        )
    if not reply.endswith(b"OK"):
        raise StorageUnavailable(reply.decode(errors="replace"))


def _instream(address: str, stream: IO[bytes]) -> bytes:
    if address.startswith("unix:") or address.startswith("/"):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(address.removeprefix("unix:"))
        except OSError:
            sock.close()
            raise
    else:
        host, _sep, port = address.rpartition(":")
        sock = socket.create_connection((host or "127.0.0.1", int(port)))
    with sock:
        sock.settimeout(30)
        sock.sendall(b"zINSTREAM\0")
        stream.seek(0)
        while chunk := stream.read(_CHUNK):
            sock.sendall(struct.pack("!L", len(chunk)) + chunk)
        sock.sendall(struct.pack("!L", 0))
        reply = b""
        while not reply.endswith(b"\0"):
            part = sock.recv(4096)
            if not part:
                break
            reply += part
    return reply.rstrip(b"\0").strip()


# --- orphan files: written, but their transaction never committed (a process killed) -----------


@dataclass
class OrphanReport:
    scanned: int = 0  # stored files looked at
    removed: int = 0  # no row names them and older than the delay: removed
    too_recent: int = 0  # no row names them yet, but younger than the delay: kept
    errors: int = 0  # could not be removed (logged)
    held_removed: int = 0  # files held for a refused form that never came back, removed

    def summary(self) -> str:
        return (
            f"{self.scanned} file(s) scanned, {self.removed} orphan(s) removed, "
            f"{self.too_recent} recent orphan(s) kept, {self.errors} error(s)"
            + (f", {self.held_removed} held file(s) removed" if self.held_removed else "")
        )


_KEY = re.compile(r"[0-9a-f]{32}")


def remove_orphan_files(
    min_age: timedelta, *, dry_run: bool = False, batch: int = 500
) -> OrphanReport:
    """Remove stored files that no ``attachment.storage_key`` names and that are older than
    ``min_age`` (a submission in flight writes its files before its commit: never touch those).
    Only names of the storage layout are considered; anything else in the folder is left."""
    root = Path(current_app.config["ATTACHMENT_DIR"])
    report = OrphanReport()
    if not root.is_dir():
        return report
    limit = time.time() - min_age.total_seconds()
    candidates: list[Path] = []

    def flush() -> None:
        keys = [path.name for path in candidates]
        known = set(
            db.session.scalars(
                select(Attachment.storage_key).where(Attachment.storage_key.in_(keys))
            )
        )
        for path in candidates:
            if path.name in known:
                continue
            try:
                if path.stat().st_mtime > limit:
                    report.too_recent += 1
                    continue
                if not dry_run:
                    path.unlink()
                report.removed += 1
            except FileNotFoundError:
                continue
            except OSError as error:
                report.errors += 1
                log.error("could not remove orphan attachment file %s: %s", path, error)
        candidates.clear()

    for path in root.glob("??/??/*"):
        if not _KEY.fullmatch(path.name) or path.parent.parent.name != path.name[:2]:
            continue
        if not path.is_file():
            continue
        report.scanned += 1
        candidates.append(path)
        if len(candidates) >= batch:
            flush()
    flush()
    # Files set aside for a refused form that never came back (no row can name them), once
    # older than the delay; counted apart.
    held = Path(current_app.config["DATA_DIR"]) / "held-attachments"
    for path in held.glob("*") if held.is_dir() else []:
        try:
            if not _KEY.fullmatch(path.name) or path.stat().st_mtime > limit:
                continue
            if not dry_run:
                path.unlink()
            report.held_removed += 1
        except OSError:
            continue
    if report.removed:
        log.info("Orphan attachment files: %s", report.summary())
    return report


# --- files held while a refused form is shown again (issue 16) -------------------------------
# A message form refused by the server (an outcome missing, say) must not lose the files the
# agent chose: they are checked and stored as usual, then set aside outside the attachment store
# (so no attachment file is ever without its row) until the form comes back with them.


def _held_path(storage_key: str) -> Path:
    root = Path(current_app.config["DATA_DIR"]) / "held-attachments"
    return root / storage_key


def hold(stored: list[StoredFile]) -> None:
    """Set stored files aside (their rows were not written)."""
    for item in stored:
        target = _held_path(item.storage_key)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(_path(item.storage_key), target)


def release(held: list[StoredFile]) -> list[StoredFile]:
    """Put held files back in the store; those no longer held (sent already) are left out."""
    released = []
    for item in held:
        source = _held_path(item.storage_key)
        if not source.is_file():
            continue
        target = _path(item.storage_key)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)
        released.append(item)
    return released
