"""The taxpayer's personal space (espace particulier / professionnel): our own blueprint, DSFR."""

from __future__ import annotations

from flask import Blueprint

from app.cases.attachments import human_size
from views.taxpayer.session import current_taxpayer

blueprint = Blueprint("taxpayer", __name__, url_prefix="/espace")


@blueprint.app_context_processor
def _taxpayer_globals() -> dict[str, object]:
    return {"current_taxpayer": current_taxpayer()}


@blueprint.app_template_filter("file_size")
def _file_size(size: int) -> str:
    return human_size(int(size))


from views.taxpayer import account, auth, cases, space  # noqa: E402,F401  (routes on import)

blueprint.add_app_template_global(space.status_badge_kind)
