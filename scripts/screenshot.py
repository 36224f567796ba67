"""Open a local HTML page in headless Chromium, screenshot it, and report console errors and network requests.

    python scripts/screenshot.py PAGE.html OUT.png [--width=1100] [--max-height=PIXELS]

Speaks the DevTools protocol over a pipe (``--remote-debugging-pipe``: JSON messages ending in a NUL byte on
file descriptors 3 and 4), so it needs nothing beyond Debian's ``chromium`` package. Prints a JSON summary;
exits 1 if the page logged an error or asked the network for anything.
"""

import base64
import fcntl
import json
import os
import select
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--remote-debugging-pipe", "--hide-scrollbars",
         "--disable-extensions", "--mute-audio", "--no-default-browser-check"]
INSTALL = "Debian's chromium is not installed: run `apt-get install -y chromium` (CI's .ci/run installs it)"


def find_chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    raise FileNotFoundError(INSTALL)


class Pipe:
    """A DevTools session over the browser's pipe: send commands, wait for replies, keep every event."""

    def __init__(self, to_browser: int, from_browser: int, timeout: float) -> None:
        self.out, self.inp, self.deadline = to_browser, from_browser, time.monotonic() + timeout
        self.buffer, self.next_id = b"", 0
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> dict[str, Any]:
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self.out, json.dumps(message).encode() + b"\0")
        reply = self.wait(lambda m: m.get("id") == self.next_id)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return dict(reply.get("result", {}))

    def wait(self, done: Any) -> dict[str, Any]:
        """Read messages until one satisfies ``done``; events are kept in ``self.events``."""
        while True:
            while b"\0" in self.buffer:
                raw, self.buffer = self.buffer.split(b"\0", 1)
                message = json.loads(raw)
                if "method" in message:
                    self.events.append(message)
                if done(message):
                    return dict(message)
            left = self.deadline - time.monotonic()
            if left <= 0 or not select.select([self.inp], [], [], left)[0]:
                raise TimeoutError("Chromium did not answer in time")
            chunk = os.read(self.inp, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe (did it crash? see its stderr)")
            self.buffer += chunk


def _launch(profile: str) -> tuple[subprocess.Popen[bytes], Pipe]:
    to_child, to_browser = os.pipe()
    from_browser, from_child = os.pipe()
    for low in (to_child, from_child):  # move the child's ends above 3 and 4 so the redirections cannot clash
        high = fcntl.fcntl(low, fcntl.F_DUPFD, 10)
        os.close(low)
        to_child, from_child = (high, from_child) if low == to_child else (to_child, high)
    # the browser must find its pipe ends on fds 3 (commands in) and 4 (replies out); bash arranges that
    # (dash, Debian's sh, cannot redirect from a descriptor above 9)
    command = shlex.join([find_chromium(), *FLAGS, f"--user-data-dir={profile}", "about:blank"])
    try:
        proc = subprocess.Popen(["bash", "-c", f"exec {command} 3<&{to_child} 4>&{from_child}"],
                                pass_fds=(to_child, from_child), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
    finally:
        os.close(to_child)  # only the browser holds these now, so its exit shows as the pipe's end
        os.close(from_child)
    return proc, Pipe(to_browser, from_browser, timeout=30.0)


def _attach(pipe: Pipe, width: int) -> str:
    target = pipe.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = str(pipe.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"])
    for domain in ("Page", "Runtime", "Log", "Network"):
        pipe.send(f"{domain}.enable", session=session)
    pipe.send("Emulation.setDeviceMetricsOverride", {"width": width, "height": 900, "deviceScaleFactor": 1,
                                                     "mobile": False}, session=session)
    return session


def _problems(events: list[dict[str, Any]], session: str, page_url: str) -> dict[str, list[str]]:
    errors, requests = [], []
    for e in events:
        if e.get("sessionId") != session:
            continue
        method, params = e["method"], e.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", [])))
        elif method == "Runtime.exceptionThrown":
            errors.append(str(params.get("exceptionDetails", {}).get("text", "exception")))
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            errors.append(str(params["entry"].get("text", "")))
        elif method == "Network.requestWillBeSent":
            url = str(params.get("request", {}).get("url", ""))
            if url != page_url and not url.startswith("data:"):
                requests.append(url)
    return {"console_errors": errors, "network_requests": requests}


def capture(page: str, png: str, width: int = 1100, max_height: float | None = None) -> dict[str, Any]:
    """Load ``page``, write a full-page PNG (or its top ``max_height`` pixels) to ``png``; return the page's
    console errors and network requests."""
    page_url = Path(page).resolve().as_uri()
    with tempfile.TemporaryDirectory(prefix="perkmatch-chromium-") as profile:
        proc, pipe = _launch(profile)
        try:
            session = _attach(pipe, width)
            pipe.send("Page.navigate", {"url": page_url}, session=session)
            pipe.wait(lambda m: m.get("method") == "Page.loadEventFired" and m.get("sessionId") == session)
            size = pipe.send("Page.getLayoutMetrics", session=session)["cssContentSize"]
            height = min(size["height"], max_height or size["height"])
            clip = {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}
            shot = pipe.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True,
                                                        "clip": clip}, session=session)
            Path(png).write_bytes(base64.b64decode(shot["data"]))
            title = pipe.send("Runtime.evaluate", {"expression": "document.title"}, session=session)
            result = _problems(pipe.events, session, page_url)
            _close(pipe)
        finally:
            _stop(proc, pipe)
    return {"page": page_url, "title": title["result"].get("value"), "height": size["height"]} | result


def _close(pipe: Pipe) -> None:
    try:
        pipe.send("Browser.close")
    except (RuntimeError, TimeoutError):
        pass  # it closes the pipe as it exits


def _stop(proc: subprocess.Popen[bytes], pipe: Pipe) -> None:
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the group of the browser this script started, and only that
        proc.wait()
    os.close(pipe.out)
    os.close(pipe.inp)


def main(argv: list[str]) -> int:
    options = dict(a[2:].split("=", 1) for a in argv if a.startswith("--") and "=" in a)
    args = [a for a in argv if not a.startswith("--")]
    if len(args) != 2 or set(options) - {"width", "max-height"}:
        print("usage: " + __doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    try:
        result = capture(args[0], args[1], int(options.get("width", 1100)),
                         float(options["max-height"]) if "max-height" in options else None)
    except FileNotFoundError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=1))
    return 1 if result["console_errors"] or result["network_requests"] else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
