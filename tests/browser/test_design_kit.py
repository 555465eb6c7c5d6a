"""The public pages in a real browser: the design kit loads and draws the page.

Needs a Chromium binary and the kit copied by `make static`; skipped without them.
"""

import os
import shutil
import subprocess
import threading

import pytest
from PIL import Image
from werkzeug.serving import make_server

from bando import ROOT
from bando.core.extensions import db
from tests.bando.public.test_pages import award, cdq_like_edition

CHROMIUM = next(
    (shutil.which(n) for n in ("chromium", "chromium-browser") if shutil.which(n)), None
)
KIT_CSS = os.path.join(
    ROOT, "bando", "static", "vendor", "bootstrap-italia", "css", "bootstrap-italia.min.css"
)

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="needs chromium"),
    pytest.mark.skipif(not os.path.exists(KIT_CSS), reason="needs `make static`"),
]

# Bootstrap Italia's primary blue (#0066cc), the colour of the header.
PRIMARY = (0, 102, 204)


@pytest.fixture
def live_url(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


def screenshot(url, path, width=1280, height=1400):
    subprocess.run(
        [
            CHROMIUM,
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
            f"--user-data-dir={path.parent / 'profile'}",
            f"--window-size={width},{height}",
            f"--screenshot={path}",
            url,
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return Image.open(path).convert("RGB")


def close_to(pixel, colour, tolerance=12):
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, colour, strict=True))


def test_call_page_is_drawn_with_the_kit(app, live_url, tmp_path):
    edition = cdq_like_edition(cap_cents=80_000_00)
    for _ in range(4):  # four grants within the call's maximum per project: half the cap
        award(edition, 10_000_00)
    db.session.commit()
    image = screenshot(f"{live_url}/bandi/cdq-prova", tmp_path / "call.png", height=2600)
    # The centre header is the kit's blue across the page; the body below is white.
    assert close_to(image.getpixel((20, 100)), PRIMARY)
    assert close_to(image.getpixel((image.width - 20, 100)), PRIMARY)
    assert close_to(image.getpixel((20, 600)), (255, 255, 255))
    # The budget chart is drawn: on the call's bar, the committed half (unpaid blue) is as
    # long as the available half (light blue) — 50 % of the cap.
    committed, available = (0, 102, 204), (207, 224, 243)
    bars = []
    for y in range(300, image.height, 2):
        row = [image.getpixel((x, y)) for x in range(image.width)]
        blue = sum(close_to(pixel, committed, tolerance=20) for pixel in row)
        light = sum(close_to(pixel, available, tolerance=20) for pixel in row)
        if blue > 200 and light > 200:
            bars.append((blue, light))
    assert bars, "no budget chart in the page"
    blue, light = bars[0]
    assert abs(blue - light) <= 0.1 * (blue + light), (blue, light)


def test_home_page_is_drawn_with_the_kit(app, live_url, tmp_path):
    cdq_like_edition()
    image = screenshot(f"{live_url}/", tmp_path / "home.png", width=1280, height=900)
    assert close_to(image.getpixel((20, 100)), PRIMARY)
    assert close_to(image.getpixel((20, 600)), (255, 255, 255))
