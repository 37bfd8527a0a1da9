# The driver's child process, as the dashboard app sees it: find the installed
# `reachy-mini-driver` bin, start `reachy-mini-driver app`, forward every stdout/stderr line to a
# logger, and stop it (SIGTERM to its process group, SIGKILL after STOP_GRACE_S).
# Standard library only, so it can be tested without reachy_mini installed. It does not
# configure the driver: the driver reads its own settings (README "Installing on the robot").
from __future__ import annotations

import logging
import os
import shlex
import shutil
import signal
import subprocess
import threading
from typing import IO, Optional, Sequence

# A full command (split like a shell would) that replaces the driver bin, e.g.
# "/opt/reachy-mini-driver/node_modules/.bin/reachy-mini-driver" or "node /src/cli.ts".
COMMAND_ENV = "REACHY_MINI_DRIVER_COMMAND"
# Where the README's "Installing on the robot" puts the driver; tried after PATH.
DEFAULT_INSTALL_BIN = "/opt/reachy-mini-driver/node_modules/.bin/reachy-mini-driver"
BIN_NAME = "reachy-mini-driver"
# The driver's subcommand: the settings app first, the driver once the settings are valid.
SUBCOMMAND = "app"
# How long the driver gets to stop after SIGTERM (it stops motion, waiting at most 2 s for the
# daemon, releases the lease, parks nothing, closes NATS; a few seconds at most) before SIGKILL.
# Kept below the dashboard's own patience.
STOP_GRACE_S = 10.0
# How often run() checks whether the child died on its own while waiting for the stop event.
POLL_INTERVAL_S = 0.2


class DriverNotFound(RuntimeError):
    """No driver command: neither $REACHY_MINI_DRIVER_COMMAND, PATH, nor the default install."""


def driver_command(env: Optional[dict] = None) -> list[str]:
    """The command that starts `reachy-mini-driver app`, from the env var, PATH or the install."""
    env = os.environ if env is None else env
    configured = env.get(COMMAND_ENV, "").strip()
    if configured:
        return shlex.split(configured) + [SUBCOMMAND]
    found = shutil.which(BIN_NAME, path=env.get("PATH"))
    if found:
        return [found, SUBCOMMAND]
    if os.access(DEFAULT_INSTALL_BIN, os.X_OK):
        return [DEFAULT_INSTALL_BIN, SUBCOMMAND]
    raise DriverNotFound(
        f"{BIN_NAME} not found: set {COMMAND_ENV}, put it on PATH, or install it in "
        f"{os.path.dirname(os.path.dirname(os.path.dirname(DEFAULT_INSTALL_BIN)))}"
    )


class DriverProcess:
    """One run of the driver: start() once, then stop() (idempotent)."""

    def __init__(self, command: Sequence[str], logger: logging.Logger,
                 stop_grace_s: float = STOP_GRACE_S) -> None:
        self.command = list(command)
        self.logger = logger
        self.stop_grace_s = stop_grace_s
        self.proc: Optional[subprocess.Popen] = None
        self._readers: list[threading.Thread] = []

    def start(self) -> None:
        self.logger.info("starting %s", shlex.join(self.command))
        # Own process group: a wrapper (npx, a shell) and the node process both get the signal.
        self.proc = subprocess.Popen(
            self.command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, start_new_session=True,
        )
        for name, stream in (("stdout", self.proc.stdout), ("stderr", self.proc.stderr)):
            reader = threading.Thread(target=self._forward, args=(stream, name),
                                      name=f"driver-{name}", daemon=True)
            reader.start()
            self._readers.append(reader)

    def _forward(self, stream: IO[bytes], name: str) -> None:
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            if line:
                self.logger.info("[driver %s] %s", name, line)
        stream.close()

    def exited(self) -> Optional[int]:
        """The child's exit code once it has exited, else None."""
        return None if self.proc is None else self.proc.poll()

    def stop(self) -> Optional[int]:
        """SIGTERM, then SIGKILL after stop_grace_s; returns the exit code (negative = signal)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=self.stop_grace_s)
            except subprocess.TimeoutExpired:
                self.logger.warning("driver still running %.1f s after SIGTERM: SIGKILL",
                                    self.stop_grace_s)
                self._signal(signal.SIGKILL)
                self.proc.wait()
        for reader in self._readers:
            reader.join(timeout=1.0)
        self.logger.info("driver exited with code %s", self.proc.returncode)
        return self.proc.returncode

    def _signal(self, sig: signal.Signals) -> None:
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass


def run_until_stopped(process: DriverProcess, stop_event: threading.Event) -> int:
    """Start the driver and wait for the stop event or the child's own exit; always stop it."""
    process.start()
    try:
        while not stop_event.wait(POLL_INTERVAL_S):
            if process.exited() is not None:
                break
    finally:
        code = process.stop()
    return 0 if code is None else code
