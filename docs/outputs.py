"""Write every printed output in the docs and the README anew, by running its command on this version.

Each block of output in the pages is a fenced `console` block whose first line is `$ digits …`,
with a comment just before it that says how much of the output the page shows:

    <!-- output: head=13 tail=1 columns=100 stop=4 -->

`head`/`tail`: the first and last lines kept, `...` between (all of it without them); `columns`:
the terminal's width (80); `stop`: seconds after which the command gets Ctrl-C (for `serve`).
The commands run in a scratch folder holding the repository's configs and examples, where the
default run, the tutorial's linear and hidden runs, and the files the pages name are made first
(about a minute and a half on 2 cores). `--check` only verifies that every block has its comment,
so that none was written by hand; `tests/test_tutorial.py` runs that check.

    python docs/outputs.py [--check]
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(
    r"(?:<!-- output:(?P<options>[^>]*)-->\n)?```console\n\$ (?P<command>[^\n]+)\n(?P<shown>.*?)```", re.S
)
MADE_FIRST = [  # runs the other commands read from, made in the scratch folder before them
    "digits train",
    "digits train --config configs/linear.toml",
    "digits train --config configs/hidden.toml",
]


def blocks(text: str) -> list[re.Match]:
    return [block for block in BLOCK.finditer(text) if block["command"].startswith("digits ")]


def run(command: str, options: dict[str, str], scratch: Path) -> list[str]:
    """What a person sees in a terminal: the command's stderr, then its stdout."""
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": options.get("columns", "80")}
    process = subprocess.Popen(
        [sys.executable, "-m", "digits", *shlex.split(command)[1:]],
        cwd=scratch, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        stdout, stderr = process.communicate(timeout=float(options["stop"]) if "stop" in options else None)
    except subprocess.TimeoutExpired:  # a server: Ctrl-C, as a person stops it
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate()
    shipped = str(ROOT / "src" / "digits")  # where digits is installed differs: … stands for it
    return [line.rstrip() for line in (stderr + stdout).replace(shipped, "…/digits").splitlines()]


def cut(lines: list[str], options: dict[str, str]) -> str:
    head, tail = int(options.get("head", 0)), int(options.get("tail", 0))
    if head and len(lines) > head + tail:
        lines = [*lines[:head], "...", *(lines[-tail:] if tail else [])]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="Only check that every block has its comment.")
    args = parser.parse_args()
    unmarked = [
        f"{page.relative_to(ROOT)}: $ {block['command']}"
        for page in PAGES
        if page.name != "tutorial.md"  # its outputs are excerpts, checked by tests/test_tutorial.py
        for block in blocks(page.read_text(encoding="utf-8"))
        if block["options"] is None
    ]
    if unmarked:
        sys.exit("blocks with no <!-- output: --> comment, written by hand:\n" + "\n".join(unmarked))
    if args.check:
        return
    with tempfile.TemporaryDirectory() as scratch_name:
        scratch = Path(scratch_name)
        for folder in ("configs", "examples"):
            shutil.copytree(ROOT / folder, scratch / folder)
        (scratch / "my.toml").write_text("[train]\nlrr = 0.1\n")  # the pages' example of a mistake
        Image.new("L", (200, 200), 255).save(scratch / "blank.png")
        made = {command: run(command, {}, scratch) for command in MADE_FIRST}
        for page in PAGES:
            if page.name == "tutorial.md":
                continue

            def fresh(block: re.Match) -> str:
                options = dict(option.split("=") for option in block["options"].split())
                command = block["command"]
                lines = made[command] if command in made else run(command, options, scratch)
                return f"<!-- output:{block['options']}-->\n```console\n$ {command}\n{cut(lines, options)}```"

            text = page.read_text(encoding="utf-8")
            page.write_text(BLOCK.sub(lambda b: fresh(b) if b["command"].startswith("digits ") else b[0], text))
            print(f"wrote {page.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
