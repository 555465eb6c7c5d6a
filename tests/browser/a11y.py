"""Accessibility tools for the browser tests: axe-core run inside a page, a person's
keyboard (Tab, Shift+Tab, Enter, Space, arrows; never the mouse), and the phone's view of
the page the desktop browser is on.

axe-core comes from npm (package.json; `make install` runs `npm install`), read from
node_modules/axe-core/axe.min.js. It is put in the page with page.evaluate, which runs
outside the page's Content-Security-Policy: a <script> tag would be refused, as it should.
"""

import base64
import math
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.1 A and AA, as the Italian accessibility guidelines (AgID, EN 301 549) ask.
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = ("serious", "critical")
PHONE = {"width": 390, "height": 844}


def axe_source() -> str:
    """axe-core's script. It comes with the design kit (one `npm install`, run by `make
    install`): the browser tests already skip without the kit, so here a missing axe is a
    failure, never a silent skip."""
    if not AXE.exists():
        pytest.fail(f"axe-core is missing at {AXE.relative_to(ROOT)}: run `make static`")
    return AXE.read_text(encoding="utf-8")


RUN_AXE = """async ([tags, blocking]) => {
  const result = await axe.run(document, {
    runOnly: {type: "tag", values: tags},
    resultTypes: ["violations"],
  });
  return result.violations
    .filter(v => blocking.includes(v.impact))
    .map(v => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 6).map(n => n.target.join(" ") + " — " + n.failureSummary),
    }));
}"""


def axe_violations(page, source: str) -> list[dict]:
    """The serious and critical WCAG 2.1 A/AA violations axe finds in the page as it is."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(f"() => {{ {source}\n}}")
    return page.evaluate(RUN_AXE, [WCAG_TAGS, list(BLOCKING)])


# Where `selector` is from the focus: the element itself, after it (Tab reaches it) or
# before it (Shift+Tab does). Reading the page only; the moves are the keyboard's.
WHERE = """selector => {
  const target = document.querySelector(selector);
  if (!target) return "missing";
  const active = document.activeElement;
  if (active === target) return "here";
  if (!active || active === document.body) return "after";
  return active.compareDocumentPosition(target) & Node.DOCUMENT_POSITION_FOLLOWING
    ? "after" : "before";
}"""


# Whether the focused control shows where the focus is (WCAG 2.4.7): an outline or a
# shadow on it, or — for the kit's boxes and radios, drawn by their label — on the label.
MARKED = """selector => {
  const e = document.querySelector(selector);
  const shows = (el, pseudo) => {
    const s = getComputedStyle(el, pseudo);
    return (s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== "none";
  };
  if (shows(e)) return [];
  const label = e.id && document.querySelector(`label[for="${e.id}"]`);
  if (label && (shows(label) || shows(label, "::before") || shows(label, "::after"))) return [];
  return [location.pathname + " " + selector];
}"""


class Keyboard:
    """A person at the keyboard of `page`: Tab and Shift+Tab to reach a control, then
    typing, Space for boxes and file choosers, Enter for links and buttons, arrows for
    lists. Every control reached counts how many presses it took."""

    LIMIT = 400

    def __init__(self, page):
        self.page = page
        self.presses = 0
        self.unmarked = []  # controls reached whose focus shows no outline nor shadow
        self.choosers = []
        page.on("filechooser", lambda chooser: self.choosers.append(chooser))

    def focus(self, selector: str) -> None:
        for _ in range(self.LIMIT):
            where = self.page.evaluate(WHERE, selector)
            if where == "here":
                self.unmarked += self.page.evaluate(MARKED, selector)
                return
            assert where != "missing", f"{selector} is not on {self.page.url}"
            self.page.keyboard.press("Tab" if where == "after" else "Shift+Tab")
            self.presses += 1
        raise AssertionError(f"{selector} never took the focus by Tab on {self.page.url}")

    def type(self, selector: str, text: str) -> None:
        self.focus(selector)
        self.page.keyboard.press("Control+A")  # replaces what is there, as a person would
        self.page.keyboard.type(text)
        self.presses += 1 + len(text)

    def press(self, selector: str, key: str = "Enter") -> None:
        """Activates a link or a button (Enter), ticks a box (Space)."""
        self.focus(selector)
        self.page.keyboard.press(key)
        self.presses += 1

    def follow(self, selector: str) -> None:
        """Enter on a link or a submit button, until the page it leads to has loaded."""
        self.focus(selector)
        with self.page.expect_navigation():
            self.page.keyboard.press("Enter")
        self.presses += 1

    def tick(self, selector: str) -> None:
        self.press(selector, "Space")
        assert self.page.is_checked(selector), selector

    def choose(self, selector: str, value: str) -> None:
        """A closed <select>: the arrows move its choice (Chromium on Linux does not open
        the list for them)."""
        self.focus(selector)
        for _ in range(100):
            now, wanted = self.page.evaluate(
                """([s, v]) => { const e = document.querySelector(s);
                   return [e.selectedIndex, [...e.options].findIndex(o => o.value === v)]; }""",
                [selector, value],
            )
            assert wanted >= 0, (selector, value)
            if now == wanted:
                return
            self.page.keyboard.press("ArrowDown" if wanted > now else "ArrowUp")
            self.presses += 1
        raise AssertionError(f"{selector} did not reach {value}")

    def date(self, selector: str, day) -> None:
        """A date field (type=date), typed in the order of its segments as shown: headless
        Chromium shows mm/dd/yyyy whatever the page's locale, a browser in Italian
        dd/mm/yyyy. A first try tells which (as a person reads the placeholder); Shift+Tab
        goes back to the first segment, then the date is typed."""
        self.focus(selector)
        self.page.keyboard.type("01022003")
        order = "%d%m%Y" if self.page.input_value(selector) == "2003-02-01" else "%m%d%Y"
        self.page.keyboard.press("Shift+Tab")
        self.page.keyboard.press("Shift+Tab")
        self.page.keyboard.type(day.strftime(order))
        self.presses += 18
        assert self.page.input_value(selector) == day.isoformat(), selector

    def attach(self, selector: str, path: str) -> None:
        """A file field: Space opens the system's file chooser, where the person picks the
        file. Playwright stands in for that dialog (which is not part of the page): it
        receives the chooser the keyboard opened and gives it the file. The page listens
        for choosers all along (see __init__): a listener added only around the key press
        can miss a chooser while Chromium's interception is switched back on."""
        self.focus(selector)
        before = len(self.choosers)
        self.page.keyboard.press("Space")
        self.presses += 1
        for _ in range(100):
            if len(self.choosers) > before:
                break
            self.page.wait_for_timeout(50)  # events are delivered while Playwright waits
        else:
            raise AssertionError(f"Space on {selector} opened no file chooser")
        chooser = self.choosers[-1]
        assert chooser.element.evaluate("(e, s) => e.matches(s)", selector), selector
        chooser.set_files(path)


NEXT_FRAMES = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"


def phone_screenshot(page, path, viewport) -> None:
    """The page the desktop browser is on, as a phone shows it (390×844, mobile: the
    viewport meta tag applies, touch), then back to the desktop's viewport. Taken from
    the same page, so a page reached by a form's POST is shot too. Chromium's own capture
    (DevTools protocol): Playwright's full-page screenshot would reset the emulation."""
    cdp = page.context.new_cdp_session(page)
    try:
        cdp.send(
            "Emulation.setDeviceMetricsOverride",
            {
                "width": PHONE["width"],
                "height": PHONE["height"],
                "deviceScaleFactor": 1,
                "mobile": True,
            },
        )
        cdp.send("Emulation.setTouchEmulationEnabled", {"enabled": True, "maxTouchPoints": 5})
        # Two frames: the layout at the new width is done before the capture.
        page.evaluate(NEXT_FRAMES)
        size = cdp.send("Page.getLayoutMetrics")["cssContentSize"]
        shot = cdp.send(
            "Page.captureScreenshot",
            {
                "format": "png",
                "captureBeyondViewport": True,
                "clip": {
                    "x": 0,
                    "y": 0,
                    "width": PHONE["width"],
                    "height": math.ceil(size["height"]),
                    "scale": 1,
                },
            },
        )
        Path(path).write_bytes(base64.b64decode(shot["data"]))
    finally:
        cdp.send("Emulation.setTouchEmulationEnabled", {"enabled": False})
        cdp.send("Emulation.clearDeviceMetricsOverride")
        cdp.detach()
        page.set_viewport_size(viewport)
