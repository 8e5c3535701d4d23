"""The agents' online help (``/agent/aide/``): every signed-in agent, whatever the role, in the
agent layout, rendered from the Markdown files of ``app/help/content/agent``, with a search box."""

from __future__ import annotations

from flask import abort, request
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access

from app.help import pages

PERMISSION = "AgentHelp"


class HelpView(BaseView):
    route_base = "/agent/aide"
    class_permission_name = PERMISSION
    default_view = "index"
    method_permission_name = {"index": "access", "show": "access"}

    @expose("/")
    @has_access
    def index(self) -> str:
        query = (request.args.get("q") or "").strip()[: pages.QUERY_MAX]
        return self.render_template(
            "help/agent_index.html",
            pages=pages.pages(pages.AGENT),
            query=query,
            hits=pages.search(pages.AGENT, query) if query else [],
            no_result=pages.no_result_message(query),
        )

    @expose("/<slug>")
    @has_access
    def show(self, slug: str) -> str:
        item = pages.page(pages.AGENT, slug)
        if item is None:
            abort(404)
        return self.render_template(
            "help/agent_page.html",
            item=item,
            body=pages.render(item),
            pages=pages.pages(pages.AGENT),
        )
