"""The web UI in a real browser (Debian's chromium through chromedriver) against ``nvr run`` on
real footage: live pictures, the overlay toggles, events with filters and paging, a clip that
plays and seeks, recordings, the system page, a phone's width, and no console error.

Screenshots of each page go to ``$NVR_TEST_ARTIFACTS/ui`` (default: ``test-artifacts/ui`` in
the checkout).
"""

from __future__ import annotations

import os
import subprocess
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import simplejpeg
import trio

from nvr.bench.events_data import fill, local_midnight
from nvr.config.ffmpeg import ffmpeg_executable
from support import (
    FOOTAGE,
    camera,
    free_port,
    poll,
    service_config,
    shared_file,
    start,
    stop,
    unavailable,
)

pytestmark = pytest.mark.slow

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
ARTIFACTS = Path(os.environ.get("NVR_TEST_ARTIFACTS",
                                Path(__file__).resolve().parents[1] / "test-artifacts")) / "ui"
SEEDED = 10_000
DOOR_EXTRA = """    zones:
      porch: {coordinates: '0,0,768,0,768,432,0,432'}
    motion: {mask: '0,0,100,0,100,100,0,100'}
    clips: {enabled: true, pre_capture: 1, post_capture: 1}
"""


class Site:
    """``nvr run`` serving the UI, and what the tests read from its API."""

    def __init__(self, url: str, folder: Path, recording: str) -> None:
        self.url, self.folder, self.recording = url, folder, recording

    def api(self, path: str, **params: Any) -> Any:
        response = httpx.get(f"{self.url}{path}", params=params, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()


def make_recording(recordings: Path, at: float) -> str:
    """A real 4 s segment of the footage filed where 24/7 recording puts one; its path."""
    moment = time.localtime(at)
    relative = time.strftime("%Y-%m/%d/%H/door/%M.%S.mp4", moment)
    path = recordings / relative
    path.parent.mkdir(parents=True)
    subprocess.run([ffmpeg_executable(), "-v", "error", "-t", "4", "-i", str(shared_file(FOOTAGE)),
                    "-c", "copy", "-movflags", "+faststart", str(path)], check=True, timeout=60)
    return relative


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("ui")

    def write(text: str) -> Path:
        path = folder / "config.yml"
        path.write_text(textwrap.dedent(text))
        return path

    cameras = (camera("door", shared_file(FOOTAGE), "-readrate 2 -stream_loop -1", 768, 432,
                      DOOR_EXTRA, roles="detect, clips")
               + camera("broken", folder / "no-such-camera.mp4", "-re", 640, 360))
    config, url = service_config(write, cameras)
    # Older events from elsewhere, for paging (they end two days before now).
    (folder / "media" / "clips").mkdir(parents=True)
    trio.run(fill, folder / "media" / "clips" / "frigate.db", time.time() - 2 * 86_400, SEEDED)
    recording = make_recording(folder / "media" / "recordings", time.time() - 3600)
    process = start(config)
    running = Site(url, folder, recording)
    try:
        poll(process, lambda: bool(running.api("/api/events", camera="door", has_clip=1)), 180,
             "a door event with its clip")
        yield running
    finally:
        if process.poll() is None:
            stop(process)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists() or not CHROMEDRIVER.exists():
        unavailable("Debian's chromium and chromium-driver are not installed")
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service as ChromeService

    options = Options()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--autoplay-policy=no-user-gesture-required", "--window-size=1280,900"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=ChromeService(str(CHROMEDRIVER)), options=options)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()


@pytest.fixture(autouse=True)
def no_console_errors(browser: Any) -> Iterator[None]:
    browser.get_log("browser")  # what earlier tests left
    yield
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == []


def wait(browser: Any, condition: Callable[[], Any], what: str, timeout: float = 30) -> Any:
    from selenium.common.exceptions import JavascriptException
    from selenium.webdriver.support.ui import WebDriverWait

    # A script that meets a page still rendering (an element not there yet) is tried again.
    return WebDriverWait(browser, timeout, poll_frequency=0.2,
                         ignored_exceptions=(JavascriptException,)).until(
        lambda _: condition(), message=f"timed out after {timeout} s waiting for {what}")


def open_page(browser: Any, site: Site, hash_path: str) -> None:
    """Load the UI afresh at ``hash_path`` (a new query string: not just a hash change)."""
    browser.get(f"{site.url}/?load={time.monotonic_ns()}{hash_path}")


def script(browser: Any, code: str, *args: Any) -> Any:
    return browser.execute_script(code, *args)


def element_picture(browser: Any, selector: str) -> np.ndarray:
    """What the element shows now, as RGB pixels (a screenshot of it)."""
    from selenium.webdriver.common.by import By

    png = browser.find_element(By.CSS_SELECTOR, selector).screenshot_as_png
    from io import BytesIO

    from PIL import Image
    return np.asarray(Image.open(BytesIO(png)).convert("RGB"))


def row_ids(browser: Any) -> list[str]:
    return script(browser, "return [...document.querySelectorAll('tr.event')]"
                           ".map((row) => row.dataset.id)")


def wait_for_image(browser: Any, selector: str, what: str) -> None:
    wait(browser, lambda: script(browser, "const i = document.querySelector(arguments[0]);"
                                          "return i !== null && i.naturalWidth > 0", selector),
         what)


def play(browser: Any, selector: str, what: str) -> None:
    """Wait until the video can play, play it (muted) and wait until its time advances."""
    wait(browser, lambda: script(browser, "const v = document.querySelector(arguments[0]);"
                                          "return v !== null && v.readyState >= 3", selector),
         f"{what} to be playable")
    script(browser, "const v = document.querySelector(arguments[0]); v.muted = true; v.play()",
           selector)
    wait(browser, lambda: script(browser, "return document.querySelector(arguments[0])"
                                          ".currentTime", selector) > 0.5, f"{what} to play")


def test_a_newcomer_watches_the_demo_event_appear_and_plays_its_clip(
        browser: Any, tmp_path: Path) -> None:
    # The README's first command, in a browser: examples/demo.yml on a free loopback port.
    port = free_port()
    demo = (Path(__file__).resolve().parents[1] / "examples" / "demo.yml").read_text()
    config = tmp_path / "demo.yml"
    config.write_text(demo.replace("  port: 5000", f"  host: 127.0.0.1\n  port: {port}"))
    process = start(config)
    demo_site = Site(f"http://127.0.0.1:{port}", tmp_path, "")
    try:
        poll(process, lambda: demo_site.api("/api/stats")["demo"]["camera_fps"] > 0, 60,
             "the demo camera")
        open_page(browser, demo_site, "")
        wait_for_image(browser, "a.card[data-camera=demo] img", "the demo camera live")
        browser.save_screenshot(str(ARTIFACTS / "demo-cameras.png"))
        open_page(browser, demo_site, "#/events")
        wait(browser, lambda: len(row_ids(browser)) > 0, "the person event to appear", 120)
        [event_id] = row_ids(browser)[:1]
        poll(process, lambda: demo_site.api(f"/api/events/{event_id}")["has_clip"], 90,
             "the event's clip")
        script(browser, "document.querySelector(`tr.event[data-id='${arguments[0]}']`).click()",
               event_id)
        play(browser, "video.clip", "the clip")
        assert "person" in script(browser, "return document.querySelector('h1').textContent")
        browser.save_screenshot(str(ARTIFACTS / "demo-event.png"))
    finally:
        stop(process)


def test_the_cameras_page_shows_live_pictures_and_a_dead_camera(browser: Any,
                                                                site: Site) -> None:
    open_page(browser, site, "")
    door = "a.card[data-camera=door] img"
    wait_for_image(browser, door, "a live picture")
    first = script(browser, f"return document.querySelector('{door}').src")
    before = element_picture(browser, door)
    wait(browser, lambda: script(browser, f"return document.querySelector('{door}').src") != first,
         "the picture to refresh")
    wait(browser, lambda: np.abs(element_picture(browser, door).astype(int) - before).mean() > 0.5,
         "the picture to change")
    assert "h=270" in first
    fps = script(browser, "return document.querySelector('a.card[data-camera=door] .fps')"
                          ".textContent")
    assert fps.endswith(" fps") and float(fps.split()[0]) > 0
    wait(browser, lambda: "Offline" in script(
        browser, "return document.querySelector('a.card[data-camera=broken]').textContent"),
        "the dead camera's state")
    assert script(browser, "return document.querySelectorAll("
                           "'a.card[data-camera=broken] img').length") == 0
    browser.save_screenshot(str(ARTIFACTS / "cameras.png"))
    # A click opens the camera.
    script(browser, "document.querySelector('a.card[data-camera=door]').click()")
    wait(browser, lambda: browser.current_url.endswith("#/camera/door"), "the camera page")


def test_the_camera_page_toggles_overlays_in_the_url_and_the_picture(browser: Any,
                                                                    site: Site) -> None:
    open_page(browser, site, "#/camera/door")
    live = "img.live-view"
    wait_for_image(browser, live, "the MJPEG stream")
    src = script(browser, f"return document.querySelector('{live}').src")
    assert "bbox=1" in src and "mask=1" not in src and "fps=3" in src and "h=360" in src

    def corner() -> float:
        # The motion mask covers the top-left 100 x 100 px of 768 x 432.
        picture = element_picture(browser, live)
        side = picture.shape[1] * 90 // 768
        return float(picture[2:side, 2:side].mean())

    wait(browser, lambda: corner() > 40, "the unmasked corner")
    script(browser, "document.querySelector('input[name=mask]').click()")
    wait(browser, lambda: "mask=1" in script(browser, f"return document.querySelector('{live}')"
                                                      ".src"), "mask=1 in the URL")
    wait(browser, lambda: corner() < 10, "the motion mask drawn in black")
    browser.save_screenshot(str(ARTIFACTS / "camera-mask.png"))
    for flag in ("timestamp", "zones", "motion", "regions"):
        script(browser, f"document.querySelector('input[name={flag}]').click()")
        wait(browser, lambda flag=flag: f"{flag}=1" in script(
            browser, f"return document.querySelector('{live}').src"), f"{flag}=1 in the URL")
    script(browser, "const s = document.querySelector('select[name=h]'); s.value = '270';"
                    "s.dispatchEvent(new Event('change'))")
    wait(browser, lambda: script(browser, f"return document.querySelector('{live}')"
                                          ".naturalHeight") == 270, "a 270 px stream")
    # The best image per tracked label.
    wait(browser, lambda: script(browser, "return document.querySelector('.best img')"
                                          ".naturalHeight") == 160, "the best person image")
    browser.save_screenshot(str(ARTIFACTS / "camera-overlays.png"))


def test_events_filters_narrow_the_list_to_what_the_api_returns(browser: Any,
                                                                site: Site) -> None:
    # A camera of the seeded events only: no new event comes to the top meanwhile.
    open_page(browser, site, "#/events?camera=front_door")
    wait(browser, lambda: len(row_ids(browser)) == 50, "the first page of events")

    def api_ids(limit: int) -> list[str]:
        return [event["id"] for event in site.api("/api/events", limit=limit,
                                                  camera="front_door")]

    assert row_ids(browser) == api_ids(50)
    # The end of the list in view loads the next page.
    script(browser, "document.querySelector('.status').scrollIntoView()")
    wait(browser, lambda: len(row_ids(browser)) > 90, "the second page")
    # The next 50 from the last one shown (``before`` is inclusive), which is not repeated.
    assert row_ids(browser) == api_ids(99)
    browser.save_screenshot(str(ARTIFACTS / "events.png"))

    now = time.time()
    day = time.strftime("%Y-%m-%d", time.localtime(now - 10 * 86_400))
    last = time.strftime("%Y-%m-%d", time.localtime(now - 5 * 86_400))
    cases = [
        ({"label": "car"}, {"label": "car"}),
        ({"camera": "door"}, {"camera": "door"}),
        ({"zone": "porch", "has_clip": "0"}, {"zone": "porch", "has_clip": "0"}),
        ({"after": day, "before": last}, {"after": local_midnight(now - 10 * 86_400),
                                          "before": local_midnight(now - 5 * 86_400, 1)}),
    ]
    for chosen, api_params in cases:
        open_page(browser, site, "#/events")
        wait(browser, lambda: len(row_ids(browser)) >= 50, "the unfiltered list")
        # Set every field, then one change event (the form applies them together).
        script(browser, "const fields = Object.entries(arguments[0]).map(([name, value]) => {"
                        "const f = document.querySelector(`[name=${name}]`); f.value = value;"
                        "return f; }); fields[0].dispatchEvent(new Event('change',"
                        " {bubbles: true}))", chosen)
        # (New door events may come to the top meanwhile: the API has them too.)
        wait(browser, lambda p=api_params: row_ids(browser)[:50] == [
            event["id"] for event in site.api("/api/events", limit=50, **p)],
            f"the list filtered by {chosen}")
        assert row_ids(browser)
    script(browser, "const f = document.querySelector('[name=camera]'); f.value = 'broken';"
                    "f.dispatchEvent(new Event('change', {bubbles: true}))")
    wait(browser, lambda: script(browser, "return document.querySelector('.status')"
                                          ".textContent") == "No events match these filters.",
         "the empty list")


def test_an_event_opens_its_snapshot_and_a_clip_that_plays_and_seeks(browser: Any,
                                                                     site: Site) -> None:
    event = site.api("/api/events", camera="door", has_clip=1)[0]
    open_page(browser, site, "#/events?camera=door")
    wait(browser, lambda: event["id"] in row_ids(browser), "the door event in the list")
    script(browser, "document.querySelector(`tr.event[data-id='${arguments[0]}']`).click()",
           event["id"])
    play(browser, "video.clip", "the clip")
    if event["has_snapshot"]:
        wait_for_image(browser, "img.snapshot", "the snapshot")
    script(browser, "const v = document.querySelector('video.clip'); v.pause();"
                    "v.dataset.seeked = ''; v.onseeked = () => { v.dataset.seeked = 'yes'; };"
                    "v.currentTime = 1.5")
    wait(browser, lambda: script(browser, "return document.querySelector('video.clip')"
                                          ".dataset.seeked") == "yes", "the seek")
    assert abs(script(browser, "return document.querySelector('video.clip').currentTime")
               - 1.5) < 0.3
    browser.save_screenshot(str(ARTIFACTS / "event.png"))


def test_recordings_are_browsed_by_day_and_hour_and_play(browser: Any, site: Site) -> None:
    open_page(browser, site, "#/recordings")
    month, day, hour, camera_name, segment = site.recording.split("/")
    for label in (month, day, f"{hour}:00", camera_name, segment.removesuffix(".mp4")):
        wait(browser, lambda label=label: script(
            browser, "return [...document.querySelectorAll('ul.listing a')]"
                     ".some((a) => a.textContent === arguments[0])", label),
             f"{label} in the listing")
        script(browser, "[...document.querySelectorAll('ul.listing a')]"
                        ".find((a) => a.textContent === arguments[0]).click()", label)
    play(browser, "video.recording", "the recording")
    browser.save_screenshot(str(ARTIFACTS / "recordings.png"))


def test_the_system_page_shows_stats_version_config_and_warnings(browser: Any,
                                                                 site: Site) -> None:
    open_page(browser, site, "#/system")
    version = httpx.get(f"{site.url}/api/version", timeout=10).text
    wait(browser, lambda: script(browser, "return document.querySelector('.version')"
                                          ".textContent") == f"nvr {version}", "the version")

    def door_fps() -> float:
        cells = script(browser, "const row = [...document.querySelectorAll('table.stats tr')]"
                                ".find((r) => r.cells[0]?.textContent === 'door');"
                                "return row ? [...row.cells].map((c) => c.textContent) : null")
        return float(cells[1]) if cells else 0.0

    wait(browser, lambda: door_fps() > 0, "the door camera's fps")
    wait(browser, lambda: "broken" in script(browser, "return document.querySelector('ul.logs')"
                                                      ".textContent"), "the dead camera's warning")
    config = script(browser, "return JSON.parse(document.querySelector('pre.config').textContent)")
    assert config == site.api("/api/config")
    browser.save_screenshot(str(ARTIFACTS / "system.png"))


def test_a_phone_width_needs_no_sideways_scrolling(browser: Any, site: Site) -> None:
    browser.set_window_size(390, 844)
    try:
        for page in ("", "#/events", "#/camera/door", "#/system"):
            open_page(browser, site, page)
            wait(browser, lambda: script(browser, "return !document.querySelector('main')"
                                                  ".textContent.includes('Loading')"),
                 f"{page or 'cameras'} loaded")
            wide = script(browser, "return [...document.querySelectorAll('main *')].filter("
                                   "(e) => e.getBoundingClientRect().right > 390).map("
                                   "(e) => e.tagName + '.' + e.className).slice(0, 5)")
            assert script(browser, "return document.documentElement.scrollWidth") <= 390, \
                (page, wide)
        browser.save_screenshot(str(ARTIFACTS / "phone-system.png"))
    finally:
        browser.set_window_size(1280, 900)


def test_every_asset_is_served_by_nvr_itself(site: Site) -> None:
    page = httpx.get(f"{site.url}/", timeout=10)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "http://" not in page.text and "https://" not in page.text
    for asset in ("app.js", "api.js", "cameras.js", "style.css"):
        response = httpx.get(f"{site.url}/ui/{asset}", timeout=10)
        assert response.status_code == 200
        assert "https://" not in response.text
    assert httpx.get(f"{site.url}/ui/%2e%2e/pages.py", timeout=10).status_code == 404
    assert simplejpeg.decode_jpeg(httpx.get(f"{site.url}/api/door/latest.jpg?h=90",
                                            timeout=10).content).shape[0] == 90
