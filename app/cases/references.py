"""Case references shown to taxpayers: ``26-7K4M-Q2XD`` (docs/decisions/0004)."""

from __future__ import annotations

import secrets
from datetime import datetime

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_reference(moment: datetime) -> str:
    body = "".join(secrets.choice(CROCKFORD) for _ in range(8))
    return f"{moment.year % 100:02d}-{body[:4]}-{body[4:]}"
