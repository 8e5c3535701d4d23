"""What users wrote is shown as text: escaped, line breaks kept, web addresses clickable; the
layouts' URLs built once per process."""

from __future__ import annotations

from flask.testing import FlaskClient

from app.platform.templating import multiline


def test_a_script_tag_stays_text_and_links_are_safe() -> None:
    shown = str(multiline('<script>alert("x")</script>\nVoir https://www.impots.gouv.fr/ici.'))
    assert "<script>" not in shown
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;<br>" in shown
    assert (
        '<a href="https://www.impots.gouv.fr/ici" rel="noopener noreferrer nofollow" '
        'target="_blank">https://www.impots.gouv.fr/ici</a>.'
    ) in shown


def test_a_javascript_address_is_not_a_link() -> None:
    shown = str(multiline('javascript:alert(1) "onmouseover=alert(1)" http://a.b/"onclick=x'))
    assert shown.count("<a ") == 1
    assert 'href="http://a.b/"' in shown
    assert "javascript:alert(1)" in shown and "onclick=x" in shown


def test_urls_built_once_keep_the_mount_point(client: FlaskClient) -> None:
    """The layouts' URLs without arguments are built once per process (templating.
    install_url_cache), per mount point: an app served under a prefix links under it."""
    plain = client.get("/").get_data(as_text=True)
    mounted = client.get("/", environ_overrides={"SCRIPT_NAME": "/sous-dossier"}).get_data(
        as_text=True
    )
    assert 'href="/static/vendor/dsfr/dsfr.min.css"' in plain
    assert 'href="/sous-dossier/static/vendor/dsfr/dsfr.min.css"' in mounted
    assert 'href="/static/' not in mounted
    again = client.get("/").get_data(as_text=True)
    assert 'href="/static/vendor/dsfr/dsfr.min.css"' in again
