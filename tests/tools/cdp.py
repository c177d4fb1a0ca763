"""A minimal Chrome DevTools Protocol client for headless Chromium over a pipe.

Chromium started with ``--remote-debugging-pipe`` reads NUL-terminated JSON
commands on file descriptor 3 and writes responses and events on descriptor 4;
no network port is opened. Used by the browser tests.
"""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

#: Flags for a quiet headless Chromium on a machine without internet.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--hide-scrollbars",
    "--mute-audio",
    "--remote-debugging-pipe",
)


def find_chromium() -> str | None:
    """Path of the Chromium binary, or None."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


class Chromium:
    """One headless Chromium process with one page, driven over the DevTools pipe."""

    def __init__(self, profile: Path, *, width: int = 1000, height: int = 800):
        binary = find_chromium()
        if binary is None:
            raise FileNotFoundError("chromium not installed")
        cmd_r, self._cmd_w = os.pipe()
        self._resp_r, resp_w = os.pipe()

        def wire() -> None:  # in the child: the pipes become fds 3 and 4
            commands, responses = os.dup(cmd_r), os.dup(resp_w)
            os.dup2(commands, 3)
            os.dup2(responses, 4)

        self.proc = subprocess.Popen(
            [
                binary,
                *FLAGS,
                f"--user-data-dir={profile}",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(3, 4, cmd_r, resp_w),
            preexec_fn=wire,
        )
        os.close(cmd_r)
        os.close(resp_w)
        self._buffer = b""
        self._next = 0
        self.events: list[dict[str, Any]] = []
        self.session: str | None = None
        self.loader: str | None = None
        targets = self.call("Target.getTargets")["targetInfos"]
        page = next(t for t in targets if t["type"] == "page")
        attached = self.call("Target.attachToTarget", targetId=page["targetId"], flatten=True)
        self.session = attached["sessionId"]

    # -- transport
    def _send(self, method: str, params: dict[str, Any], session: str | None) -> int:
        self._next += 1
        msg: dict[str, Any] = {"id": self._next, "method": method, "params": params}
        if session:
            msg["sessionId"] = session
        os.write(self._cmd_w, json.dumps(msg).encode() + b"\0")
        return self._next

    def _read(self, timeout: float) -> dict[str, Any] | None:
        deadline = time.monotonic() + timeout
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self._resp_r], [], [], left)
            if ready:
                chunk = os.read(self._resp_r, 1 << 20)
                if not chunk:
                    raise RuntimeError("chromium closed the DevTools pipe")
                self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def call(self, method: str, timeout: float = 30.0, **params: Any) -> dict[str, Any]:
        """Send a command to the page (or the browser for ``Target.*``); wait for its result."""
        session = None if method.startswith("Target.") else self.session
        wanted = self._send(method, params, session)
        deadline = time.monotonic() + timeout
        while True:
            msg = self._read(max(0.0, deadline - time.monotonic()))
            if msg is None:
                raise TimeoutError(f"{method}: no answer in {timeout} s")
            if msg.get("id") == wanted:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            if "method" in msg:
                self._event(msg)

    def _event(self, msg: dict[str, Any]) -> None:
        self.events.append(msg)
        if msg["method"] == "Page.javascriptDialogOpening":  # never leave a page blocked
            self._send("Page.handleJavaScriptDialog", {"accept": True}, self.session)

    def wait_for(self, method: str, timeout: float = 30.0) -> dict[str, Any]:
        """Wait for an event (returns at once if it already arrived)."""
        for msg in self.events:
            if msg["method"] == method:
                return msg
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = self._read(max(0.0, deadline - time.monotonic()))
            if msg is not None and "method" in msg:
                self._event(msg)
                if msg["method"] == method:
                    return msg
        raise TimeoutError(f"no {method} event in {timeout} s")

    def pump(self, seconds: float) -> None:
        """Collect events for a while."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            msg = self._read(max(0.0, deadline - time.monotonic()))
            if msg is not None and "method" in msg:
                self._event(msg)

    # -- page helpers
    def open(self, url: str, *, offline: bool = True) -> None:
        """Load ``url`` (with the network emulated offline) and wait until it has loaded."""
        self.call("Page.enable")
        self.call("Runtime.enable")
        self.call("Network.enable")
        if offline:
            self.call(
                "Network.emulateNetworkConditions",
                offline=True,
                latency=0,
                downloadThroughput=-1,
                uploadThroughput=-1,
            )
        self.events.clear()
        self.loader = self.call("Page.navigate", url=url).get("loaderId")
        self.wait_for("Page.loadEventFired")
        self.pump(0.5)

    def evaluate(self, expression: str) -> Any:
        """Value of a JavaScript expression in the page (JSON-serialisable)."""
        result = self.call(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"JavaScript error: {result['exceptionDetails']}")
        return result["result"].get("value")

    def click(self, x: float, y: float) -> None:
        """A left mouse click at viewport coordinates."""
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.call(
                "Input.dispatchMouseEvent",
                type=kind,
                x=float(x),
                y=float(y),
                button="left" if kind != "mouseMoved" else "none",
                clickCount=1 if kind != "mouseMoved" else 0,
            )
        self.pump(0.3)

    def screenshot(self) -> bytes:
        """PNG of the viewport."""
        return base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"])

    def requested_urls(self) -> list[str]:
        """URLs the page opened by :meth:`open` requested (the page and everything it loads)."""
        return [
            e["params"]["request"]["url"]
            for e in self.events
            if e["method"] == "Network.requestWillBeSent"
            and e["params"].get("loaderId") == self.loader
        ]

    def close(self) -> None:
        """End the browser."""
        try:
            self._send("Browser.close", {}, None)
            self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait(timeout=10)
        finally:
            os.close(self._cmd_w)
            os.close(self._resp_r)

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
