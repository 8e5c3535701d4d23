"""What users wrote is shown as text: escaped, line breaks kept, web addresses clickable."""

from __future__ import annotations

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
