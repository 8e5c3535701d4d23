"""A local SMTP server that keeps every e-mail as a .eml file (single-machine demo mode).

No e-mail leaves the machine; ``/demo/mails`` shows what was captured.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


class FolderHandler:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S%f")
        path = self.folder / f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
        path.write_bytes(envelope.original_content or envelope.content)
        return "250 Message accepted for delivery"


def start_mail_capture(folder: Path, host: str = "127.0.0.1", port: int = 1025) -> Controller:
    controller = Controller(FolderHandler(folder), hostname=host, port=port)
    controller.start()
    return controller
