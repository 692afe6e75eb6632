"""Accessibility checks with axe-core (vendored, test only: tests/e2e/vendor/axe-core/).

`install(context)` has Chromium load axe into every document a Playwright context opens;
`violations(page)` runs every rule axe enables by default (WCAG 2.x A and AA and its best
practices) on the whole document, injecting axe first if the page lacks it; `blocking()`
keeps the serious and critical ones, which fail the tests; `report()` says what is wrong
where, in lines a person can act on (rule, impact, what it asks, the first few elements it
found).

The page's context must be opened with `bypass_csp=True` (browser_support.Browser.page): the
app's Content-Security-Policy allows no script that is not its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
#: The impacts that fail a test; "moderate" and "minor" are reported, not failed.
BLOCKING = ("critical", "serious")
#: Elements named per rule in a report (the count says how many there were).
SHOWN_TARGETS = 3

#: axe's own duplicate-id rules are retired or only "needs review"; a repeated id still sends
#: a label, an aria-labelledby or a link to an #anchor to the wrong element, so it fails here.
RUN = """async () => {
  const result = await axe.run(document, { resultTypes: ['violations'] });
  const found = result.violations.map(v => ({
    rule: v.id,
    impact: v.impact || 'minor',
    help: v.help,
    url: v.helpUrl,
    targets: v.nodes.map(n => n.target.map(String).join(' ')),
    summary: v.nodes.length ? (v.nodes[0].failureSummary || '') : '',
  }));
  const seen = new Map();
  document.querySelectorAll('[id]').forEach(el => seen.set(el.id, (seen.get(el.id) || 0) + 1));
  const repeated = [...seen].filter(([, n]) => n > 1).map(([id, n]) => `#${id} ×${n}`);
  if (repeated.length) found.push({
    rule: 'duplicate-id',
    impact: 'serious',
    help: 'Every id on a page must be unique',
    url: 'https://www.w3.org/TR/html52/dom.html#the-id-attribute',
    targets: repeated,
    summary: 'Labels, aria-labelledby/-describedby and #links find only the first element',
  });
  return found;
}"""


@dataclass(frozen=True)
class Violation:
    """One axe rule broken on a page, with the elements that break it."""

    rule: str
    impact: str
    help: str
    url: str
    targets: tuple[str, ...]
    summary: str

    def line(self) -> str:
        shown = ", ".join(self.targets[:SHOWN_TARGETS])
        hidden = len(self.targets) - SHOWN_TARGETS
        more = f" (+{hidden} more)" if hidden > 0 else ""
        first = " ".join(self.summary.split())
        return f"[{self.impact}] {self.rule}: {self.help} — {shown}{more}\n      {first}"


async def install(context: Any) -> None:
    """Load axe into every document the context opens from now on. Chromium keeps the script
    once per context; injecting it into each page instead sends its 650 kB through Playwright
    every time, which took as long as running axe."""
    await context.add_init_script(path=str(AXE))


async def violations(page: Any) -> list[Violation]:
    """Every axe violation on the page as it is now (axe injected unless it is there)."""
    if not await page.evaluate("() => typeof window.axe === 'object'"):
        await page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = await page.evaluate(RUN)
    return [
        Violation(
            rule=v["rule"],
            impact=v["impact"],
            help=v["help"],
            url=v["url"],
            targets=tuple(v["targets"]),
            summary=v["summary"],
        )
        for v in found
    ]


def blocking(found: list[Violation]) -> list[Violation]:
    return [v for v in found if v.impact in BLOCKING]


def report(where: str, found: list[Violation]) -> str:
    """A page's violations as lines: where, then one line per rule."""
    return "\n".join([where, *(f"  {v.line()}" for v in found)])
