"""A fork server for the tests' `digits` commands, so that Python and torch start once per test process.

Most of the suite's time went to starting `digits` processes: 2.5 s of imports (torch, numpy, scipy,
matplotlib, typer) before a `digits train` trained anything, 0.5 s before a `digits predict` read
anything. The server is one Python process that imports all of that once and forks a child for each
command. The child is a process of its own, as `python -m digits ARGS` would be: its own argv (run
by runpy, as `-m` runs it), working directory, environment, stdin, stdout and stderr (pipes passed
over a Unix socket), and exit status. Only the start is shared, never a command's state: the server
imports nothing that reads the environment as it is imported (digits.cli, whose consoles take
NO_COLOR and COLUMNS, is imported by each command).

Commands whose start is what a test is about (Ctrl-C, SIGTERM, a terminal, what gets imported) start
cold processes of their own instead.
"""

from __future__ import annotations

import atexit
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

_SERVER = """
import atexit, json, os, runpy, socket, sys, traceback

# not digits.cli: its consoles take NO_COLOR and COLUMNS from the environment as they are made
import typer, rich.console
import digits.learn.lr_finder, digits.learn.plots, digits.learn.trainer, digits.read.metrics, digits.read.reader

control = socket.socket(fileno=int(sys.argv[1]))
while True:
    message, fds, _, _ = socket.recv_fds(control, 1 << 20, 3)
    if not message:
        break  # the test process has closed its end
    request = json.loads(message)
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        control.close()
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.argv = ["-m", *request["args"]]
        status = 0
        try:
            runpy.run_module("digits", run_name="__main__", alter_sys=True)
        except SystemExit as exit:  # as the interpreter turns sys.exit's argument into a status
            if isinstance(exit.code, int) or exit.code is None:
                status = exit.code or 0
            else:
                print(exit.code, file=sys.stderr)
                status = 1
        except BaseException:
            traceback.print_exc()
            status = 1
        try:
            atexit._run_exitfuncs()
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(status)
    for fd in fds:
        os.close(fd)
    control.send(json.dumps({"pid": pid}).encode())
    _, wait_status = os.waitpid(pid, 0)
    control.send(json.dumps({"status": os.waitstatus_to_exitcode(wait_status)}).encode())
"""


class ForkServer:
    def __init__(self, env: dict[str, str]) -> None:
        self.control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.process = subprocess.Popen(
            [sys.executable, "-c", _SERVER, str(theirs.fileno())],
            pass_fds=[theirs.fileno()],
            env=env,
            stdin=subprocess.DEVNULL,
        )
        theirs.close()

    def run(
        self, args: list[str], cwd: Path | None, env: dict[str, str], timeout: float
    ) -> subprocess.CompletedProcess:
        """`python -m digits ARGS` in `cwd` with `env`, as subprocess.run(..., capture_output=True, text=True)."""
        stdin = os.open(os.devnull, os.O_RDONLY)
        (out, out_child), (err, err_child) = os.pipe(), os.pipe()
        request = {"args": args, "cwd": str(cwd or Path.cwd()), "env": env}
        socket.send_fds(self.control, [json.dumps(request).encode()], [stdin, out_child, err_child])
        for fd in (stdin, out_child, err_child):
            os.close(fd)
        pid = json.loads(self.control.recv(1024))["pid"]
        try:
            stdout, stderr = _read_until_closed(out, err, timeout)
        except TimeoutError:
            os.kill(pid, signal.SIGKILL)
            raise subprocess.TimeoutExpired(["digits", *args], timeout) from None
        finally:
            status = json.loads(self.control.recv(1024))["status"]
        return subprocess.CompletedProcess(["digits", *args], status, stdout, stderr)

    def close(self) -> None:
        self.control.close()
        self.process.wait(timeout=10)


def _read_until_closed(out: int, err: int, timeout: float) -> tuple[str, str]:
    """Both pipes read to their end at once (a child that fills one while the other is read would wait)."""
    chunks: dict[int, list[bytes]] = {out: [], err: []}
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        for fd in chunks:
            selector.register(fd, selectors.EVENT_READ)
        open_fds = set(chunks)
        while open_fds:
            ready = selector.select(max(deadline - time.monotonic(), 0))
            if not ready:
                for fd in chunks:
                    os.close(fd)
                raise TimeoutError
            for key, _ in ready:
                data = os.read(key.fd, 1 << 16)
                if data:
                    chunks[key.fd].append(data)
                else:
                    selector.unregister(key.fd)
                    os.close(key.fd)
                    open_fds.discard(key.fd)
    # as text=True reads them: decoded, each line ending made "\n"
    return tuple(b"".join(chunks[fd]).decode().replace("\r\n", "\n").replace("\r", "\n") for fd in (out, err))


_server: ForkServer | None = None


def run(args: list[str], cwd: Path | None, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess:
    """Run through this test process's fork server, started at the first command."""
    global _server
    if _server is None or _server.process.poll() is not None:
        _server = ForkServer(env)
        atexit.register(_server.close)
    return _server.run(args, cwd, env, timeout)
