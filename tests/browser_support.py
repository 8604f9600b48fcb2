"""What every browser test (and bench/bench_app.py) shares: the app server, offline Chromium, waits.

The app runs as ``streamlit run app.py`` on a free local port; Chromium is
Debian's ``/usr/bin/chromium`` driven by Playwright (never ``playwright
install``). :func:`local_only_page` refuses every request to a host other than
127.0.0.1 / localhost and records it, so a test can assert that nothing left
the machine. The pytest fixtures built on these live in tests/conftest.py.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from playwright.sync_api import Frame, Locator, Page

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app.py"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
# Schemes that never reach the network.
LOCAL_SCHEMES = {"data", "blob", "about", "file"}
VIEWPORT = {"width": 1440, "height": 900}
SERVER_START_TIMEOUT_S = 90
MAP_RENDER_TIMEOUT_S = 90


class BrowserSetupError(RuntimeError):
    """The app server or Chromium could not be started (the message says why)."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def healthy(url: str) -> bool:
    """Whether the Streamlit server at ``url`` answers its health check."""
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def is_local(url: str) -> bool:
    """Whether a request to ``url`` stays on this machine."""
    parts = urlsplit(url)
    return parts.scheme in LOCAL_SCHEMES or parts.hostname in LOCAL_HOSTS


@contextlib.contextmanager
def app_server(
    workspace: Path, log: Path, *, timeout_s: float = SERVER_START_TIMEOUT_S
) -> Iterator[str]:
    """``streamlit run app.py`` on a free local port against ``workspace``; yields its base URL.

    Raises
    ------
    BrowserSetupError
        Streamlit is not installed, exits, or is not healthy within ``timeout_s``
        (the message holds the server's log).
    """
    streamlit_bin = Path(sys.executable).with_name("streamlit")
    if not streamlit_bin.exists():
        raise BrowserSetupError(f"streamlit is not installed in this environment ({streamlit_bin})")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [
        str(streamlit_bin),
        "run",
        str(APP),
        "--server.headless",
        "true",
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--server.fileWatcherType",
        "none",
    ]
    env = {**os.environ, "RENOV_WORKSPACE": str(workspace)}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + timeout_s
        while not healthy(url):
            if proc.poll() is not None:
                raise BrowserSetupError(
                    f"streamlit exited with {proc.returncode}:\n{log.read_text('utf-8')}"
                )
            if time.monotonic() > deadline:
                raise BrowserSetupError(
                    f"streamlit not healthy after {timeout_s} s:\n{log.read_text('utf-8')}"
                )
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@contextlib.contextmanager
def local_only_page(
    profile: Path,
    *,
    route: bool = True,
    extra_args: tuple[str, ...] = (),
    init_script: str | None = None,
) -> Iterator[tuple[Page, list[str], list[str]]]:
    """A Chromium page whose requests may only go to this machine.

    Yields the page, the URLs refused (other hosts) and every URL requested.
    With ``route`` (the tests) every request passes Playwright's router, which
    aborts a non-local one and names it; without it (the benchmark, where the
    router's delay would be measured) non-local requests are only recorded and
    ``extra_args`` should keep them from resolving.

    Raises
    ------
    BrowserSetupError
        Chromium or the playwright package is missing.
    """
    if not CHROMIUM.exists():
        raise BrowserSetupError(
            f"{CHROMIUM} not found; install it with: apt-get install -y chromium"
        )
    try:
        from playwright.sync_api import Request, Route, sync_playwright
    except ImportError:
        raise BrowserSetupError("the playwright package is not installed (uv sync)") from None

    refused: list[str] = []
    requested: list[str] = []

    def guard(route_: Route) -> None:
        if is_local(route_.request.url):
            route_.continue_()
        else:
            refused.append(route_.request.url)
            route_.abort()

    def record(request: Request) -> None:
        requested.append(request.url)
        if not route and not is_local(request.url):
            refused.append(request.url)

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(CHROMIUM),
            headless=True,
            args=[*CHROMIUM_ARGS, *extra_args],
            viewport=VIEWPORT,  # type: ignore[arg-type]
            locale="zh-CN",
        )
        try:
            if route:
                context.route("**/*", guard)
            context.on("request", record)
            if init_script:
                context.add_init_script(init_script)
            page = context.pages[0] if context.pages else context.new_page()
            yield page, refused, requested
        finally:
            context.close()


def wait_for_map_frame(page: Page, *, minimum: int, timeout_s: float) -> tuple[Frame, int]:
    """The frame holding the Leaflet map, once it draws at least ``minimum`` paths.

    Raises
    ------
    AssertionError
        Fewer paths than ``minimum`` after ``timeout_s`` (the best count is named).
    """
    deadline = time.monotonic() + timeout_s
    best = 0
    while time.monotonic() < deadline:
        for frame in page.frames:
            with contextlib.suppress(Exception):  # frames detach while Streamlit re-renders
                count = frame.locator("path.leaflet-interactive").count()
                best = max(best, count)
                if count >= minimum:
                    return frame, count
        page.wait_for_timeout(100)
    raise AssertionError(f"the map drew {best} of {minimum} interactive paths in {timeout_s} s")


#: Index of the largest interactive path whose centre really receives the mouse,
#: among those of the given fill colours (tried in order), or any fill with null.
CLICKABLE_PATH_JS = """(paths, fills) => {
  for (const fill of (fills || [null])) {
    let best = -1, area = 0;
    paths.forEach((path, i) => {
      if (fill !== null && path.getAttribute("fill") !== fill) return;
      const r = path.getBoundingClientRect();
      const x = r.left + r.width / 2, y = r.top + r.height / 2;
      if (x < 0 || y < 0 || x > window.innerWidth || y > window.innerHeight) return;
      if (document.elementFromPoint(x, y) !== path) return;
      if (r.width * r.height > area) { area = r.width * r.height; best = i; }
    });
    if (best >= 0) return best;
  }
  return -1;
}"""


def click_a_community(page: Page, frame: Frame, *, fills: list[str] | None = None) -> str:
    """Hover a community on the map, click it, and wait for its detail heading; its name."""
    target = hover_a_path(page, frame, pick_js=CLICKABLE_PATH_JS, arg=fills)
    name = frame.locator(".renov-tip").locator("b").inner_text()
    assert name
    target.click()
    page.get_by_role("heading", name=name).wait_for(timeout=MAP_RENDER_TIMEOUT_S * 1000)
    return name


def wait_for_more_paths(page: Page, frame: Frame, *, than: int, what: str) -> None:
    """Wait until the map draws more than ``than`` interactive paths (``what`` was added)."""
    deadline = time.monotonic() + MAP_RENDER_TIMEOUT_S
    while frame.locator("path.leaflet-interactive").count() <= than:
        assert time.monotonic() < deadline, f"{what} was not drawn"
        page.wait_for_timeout(100)


def hover_a_path(page: Page, frame: Frame, *, pick_js: str, arg: Any = None) -> Locator:
    """Hover the map path that ``pick_js`` picks until its tooltip shows; return the path.

    ``pick_js`` gets the interactive paths (and ``arg``) and returns the index
    of one whose centre receives the mouse. Leaflet paths move while the frame
    settles, so a missed hover is retried twice.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    page.wait_for_timeout(1_000)  # the frame settles to its final size (paths move)
    paths = frame.locator("path.leaflet-interactive")
    tip = frame.locator(".renov-tip")
    for _ in range(3):
        index = paths.evaluate_all(pick_js, arg)
        assert index >= 0, "no community path can be clicked"
        target = paths.nth(index)
        try:
            target.hover(timeout=5_000)
            tip.wait_for(timeout=5_000)
            return target
        except PlaywrightTimeoutError:
            page.wait_for_timeout(1_000)
    raise AssertionError("could not hover a community on the map")


def save_screenshot(page: Page, folder: Path, name: str, *, viewport: dict[str, int]) -> Path:
    """Screenshot the page at ``viewport`` into ``folder``; also into screenshots/ on request.

    With ``RENOV_UPDATE_SCREENSHOTS=1`` the picture replaces
    ``screenshots/<name>`` (the README's pictures).
    """
    page.mouse.move(2, 2)  # no tooltip in the picture
    page.wait_for_timeout(500)
    page.set_viewport_size(viewport)  # type: ignore[arg-type]
    page.wait_for_timeout(1_500)
    shot = folder / name
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000, f"{name} is nearly empty"
    if os.environ.get("RENOV_UPDATE_SCREENSHOTS") == "1":
        target = ROOT / "screenshots" / name
        target.parent.mkdir(exist_ok=True)
        shutil.copyfile(shot, target)
    return shot
