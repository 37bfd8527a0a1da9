# The ReachyMiniApp the Reachy dashboard starts (entry point group "reachy_mini_apps"; the
# daemon runs `python -u -m reachy_mini_driver_app.main` and stops it with SIGINT, which the
# base class turns into the stop event). It only launches the driver (launcher.py); it sends
# no motion itself: the driver talks to the daemon over its own REST/WebSocket connection.
from __future__ import annotations

import logging
import threading

from reachy_mini import ReachyMini, ReachyMiniApp

from .launcher import DriverProcess, driver_command, run_until_stopped

logger = logging.getLogger("reachy_mini_driver_app")


class DriverExited(RuntimeError):
    """The driver stopped on its own (not because the dashboard stopped the app)."""


class ReachyMiniDriverApp(ReachyMiniApp):
    # The driver serves its own settings app; the dashboard has no page of ours to show.
    custom_app_url: str | None = None
    # The driver takes the camera and audio over the daemon's WebRTC; the SDK must not.
    request_media_backend: str | None = "no_media"

    def run(self, reachy_mini: ReachyMini, stop_event: threading.Event) -> None:
        code = run_until_stopped(DriverProcess(driver_command(), logger), stop_event)
        if not stop_event.is_set():
            raise DriverExited(f"reachy-mini-driver exited on its own with code {code}")


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    app = ReachyMiniDriverApp()
    try:
        app.wrapped_run()
    except KeyboardInterrupt:
        app.stop()
