"""What a person sees in a real terminal: digits under a pseudo-terminal, its screen rendered by pyte."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time

import pyte
import pytest


def run_in_terminal(args: list[str], columns: int, rows: int = 60, timeout: float = 120) -> tuple[list[str], list[str]]:
    """Run `python -m digits ARGS` on a pty of the given size; the screen's lines as a terminal shows
    them first (the first time anything shows) and at the end."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "COLUMNS", "LINES", "FORCE_COLOR")}
    env["TERM"] = "xterm-256color"
    process = subprocess.Popen(
        [sys.executable, "-m", "digits", *args], stdin=follower, stdout=follower, stderr=follower, env=env
    )
    os.close(follower)
    screen = pyte.Screen(columns, rows)
    stream = pyte.ByteStream(screen)
    first: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.1)
        if ready:
            try:
                data = os.read(leader, 65536)
            except OSError:  # the child closed the terminal
                break
            if not data:
                break
            stream.feed(data)
            if not first and any(line.strip() for line in screen.display):
                first = [line.rstrip() for line in screen.display]
        elif process.poll() is not None:
            break
    process.wait(timeout=10)
    os.close(leader)
    assert process.returncode == 0
    return first, [line.rstrip() for line in screen.display]


@pytest.mark.parametrize("columns", [80, 200])  # a narrow terminal and a wide one
def test_epoch_rows_are_clean_lines_above_the_bar(tmp_path, quick_config, columns):
    output = tmp_path / "m.safetensors"
    first, lines = run_in_terminal(
        ["train", "--config", str(quick_config), "--epochs", "3", "--output", str(output)], columns
    )
    # the seconds before the header (PyTorch's import, the data) are said, and the line goes after
    assert "Starting: importing PyTorch, loading the data…" in "\n".join(first), first
    assert not any("Starting:" in line for line in lines), lines
    header = next(i for i, line in enumerate(lines) if line.startswith("epoch  train loss"))
    rows = lines[header + 1 : header + 4]
    assert [row.split()[0] for row in rows] == ["1", "2", "3"], lines
    assert all(len(row.split()) == 8 and row.split()[-1] in ("good", "underfit", "overfit") for row in rows), rows
    assert lines[header + 4] == "" and lines[header + 5].startswith("train loss"), lines
    assert not any("━" in line for line in lines), "the bar is gone once training ends"
