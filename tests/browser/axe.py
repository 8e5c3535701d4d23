"""Accessibility check with axe-core (bundled by PyPI axe-playwright-python, axe-core 4.12).

CSP: axe-playwright-python injects axe with `page.evaluate(<axe source>)`. Playwright evaluates
through the DevTools protocol (Runtime.evaluate / callFunctionOn), which the page's
Content-Security-Policy does not govern, so this works on our pages with a strict CSP (no inline
script, no eval) without `bypass_csp=True` — tests/browser/test_harness.py proves it on a page
served with `script-src 'self'`. Keep the context's CSP enforced: the browser tests then also
catch an inline script or style the CSP would block in production.
"""

from __future__ import annotations

from axe_playwright_python.sync_playwright import Axe

FAILING_IMPACTS = ("serious", "critical")

_axe = Axe()


class AccessibilityError(AssertionError):
    """Raised when axe finds serious or critical violations; `.violations` holds axe's dicts."""

    def __init__(self, message: str, violations: list[dict]):
        super().__init__(message)
        self.violations = violations


def run_axe(page, context=None, options: dict | None = None) -> dict:
    """Run axe on the page's current document and return axe's raw results (violations only)."""
    opts = {"resultTypes": ["violations"]}
    if options:
        opts.update(options)
    return _axe.run(page, context=context, options=opts).response


def format_violations(violations: list[dict], max_targets: int = 3) -> str:
    lines = []
    for v in violations:
        targets = [
            ", ".join(n["target"]) if isinstance(n["target"], list) else str(n["target"])
            for n in v["nodes"]
        ]
        shown = "; ".join(targets[:max_targets])
        more = f" (+{len(targets) - max_targets} more)" if len(targets) > max_targets else ""
        lines.append(
            f"- {v['id']} [{v['impact']}] {v['help']} ({len(targets)} node(s)): {shown}{more}\n"
            f"  {v['helpUrl']}"
        )
    return "\n".join(lines)


def assert_accessible(
    page, context=None, options: dict | None = None, impacts: tuple[str, ...] = FAILING_IMPACTS
) -> dict:
    """Fail when axe reports a violation of impact serious or critical on the current page.

    `context`/`options` are passed to axe.run (e.g. options={"rules": {"region": {"enabled":
    False}}}). Returns the raw results so a test can also look at minor/moderate ones.
    """
    results = run_axe(page, context=context, options=options)
    bad = [v for v in results["violations"] if v.get("impact") in impacts]
    if bad:
        raise AccessibilityError(
            f"axe found {len(bad)} {'/'.join(impacts)} accessibility violation(s) on "
            f"{page.url}:\n{format_violations(bad)}",
            bad,
        )
    return results
