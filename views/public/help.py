"""The taxpayers' online help (``/aide/``): public pages in the taxpayer layout (DSFR), rendered
from the Markdown files of ``app/help/content/usager``, with a search box."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request

from app.help import pages

blueprint = Blueprint("help", __name__, url_prefix="/aide")


@blueprint.get("/")
def index() -> str:
    query = (request.args.get("q") or "").strip()[: pages.QUERY_MAX]
    return render_template(
        "help/taxpayer_index.html",
        pages=pages.pages(pages.TAXPAYER),
        query=query,
        hits=pages.search(pages.TAXPAYER, query) if query else [],
        no_result=pages.no_result_message(query),
    )


@blueprint.get("/<slug>")
def show(slug: str) -> str:
    item = pages.page(pages.TAXPAYER, slug)
    if item is None:
        abort(404)
    return render_template(
        "help/taxpayer_page.html",
        item=item,
        body=pages.render(item),
        pages=pages.pages(pages.TAXPAYER),
    )
