"""The tutorial as a learner follows it: every command in docs/tutorial.md, run in order, says what the page says.

A line of output shown on the page must appear in the command's real output, word for word;
its numbers may differ (another machine, another library version), and `…` stands for text
left out. The commands run in a scratch directory holding the repository's configs and examples.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import run_digits

ROOT = Path(__file__).resolve().parent.parent
TUTORIAL = ROOT / "docs" / "tutorial.md"
NUMBER = r"\d[\d,]*(?:\.\d+)?(?:e[-+]?\d+)?"
BARS = "▁▂▃▄▅▆▇█"


def tutorial_steps(text: str) -> list[tuple[str, list[str]]]:
    """Each `$ digits …` command of the page's console blocks, with the output lines shown under it."""
    steps: list[tuple[str, list[str]]] = []
    for block in re.findall(r"```console\n(.*?)```", text, re.S):
        for line in block.splitlines():
            if line.startswith("$ "):
                steps.append((line[2:], []))
            elif line.strip() not in ("", "…"):
                steps[-1][1].append(line)
    return steps


def as_pattern(shown: str) -> re.Pattern:
    """A shown line as a pattern: its words fixed, its numbers and bars free, `…` anything, spaces any width."""
    pattern = ""
    for piece in re.split(rf"({NUMBER}|…|\s+|[{BARS}]+)", shown.strip()):
        if re.fullmatch(NUMBER, piece):
            pattern += r"[\d,.e+-]+"
        elif piece == "…":
            pattern += ".*"
        elif piece.isspace():
            pattern += r"\s+"
        elif piece and set(piece) <= set(BARS):
            pattern += f"[{BARS}]*"
        else:
            pattern += re.escape(piece)
    return re.compile(pattern)


def test_the_page_has_commands_for_every_idea():
    commands = [command for command, _ in tutorial_steps(TUTORIAL.read_text(encoding="utf-8"))]
    assert [c.split()[1] for c in commands] == [
        "show", "train", "evaluate", "info", "train", "predict", "info", "lr-find", "train", "train", "train", "compare"
    ]  # fmt: skip
    for picture in re.findall(r"!\[[^]]*\]\(([^)]+)\)", TUTORIAL.read_text(encoding="utf-8")):
        assert (TUTORIAL.parent / picture).is_file(), picture


def test_every_command_in_the_tutorial_says_what_the_page_says(tmp_path):
    for folder in ("configs", "examples"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    steps = tutorial_steps(TUTORIAL.read_text(encoding="utf-8"))
    assert all(command.split()[0] == "digits" for command, _ in steps)
    for command, shown in steps:  # in order, at a learner's 80 columns
        result = run_digits(*shlex.split(command)[1:], cwd=tmp_path, columns=80)
        assert result.returncode == 0, f"{command}\n{result.stderr}"
        output = [line.strip() for line in (result.stderr + result.stdout).splitlines()]
        for line in shown:
            pattern = as_pattern(line)
            assert any(pattern.fullmatch(o) for o in output), f"{command}\nshown:  {line}\noutput:\n" + "\n".join(
                output
            )
    # a learner following it in a clone is left no file outside checkpoints/, which git ignores
    assert sorted(path.name for path in tmp_path.iterdir()) == ["checkpoints", "configs", "examples"]
    assert (tmp_path / "checkpoints" / "compare.png").stat().st_size > 20_000
    assert (tmp_path / "checkpoints" / "hidden-weights.png").stat().st_size > 20_000


def test_the_readings_the_readme_and_docs_print_are_what_digits_prints():
    """`predict` and `read` with the shipped model, as the README and the docs' pages print them, on the
    repository's own examples (`train` and `evaluate` run in the tutorial's test instead)."""
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    reading = [
        (command, shown)
        for page in pages
        for command, shown in tutorial_steps(page.read_text(encoding="utf-8"))
        if command.split()[1] in ("predict", "read")
        and "--checkpoint" not in command
        and all(
            (ROOT / arg).exists() for arg in shlex.split(command)[2:] if not arg.startswith("-") and not arg.isdigit()
        )
    ]
    assert len(reading) >= 5  # the README's two, the docs' home page's two, and the reading page's
    for command, shown in reading:
        result = run_digits(*shlex.split(command)[1:], cwd=ROOT, columns=80)
        several = any("digits, not one" in line for line in shown)  # predict on a number: exit status 1
        assert result.returncode == (1 if several else 0), f"{command}\n{result.stderr}"
        output = [line.strip() for line in (result.stderr + result.stdout).splitlines()]
        for line in shown:
            assert any(as_pattern(line).fullmatch(o) for o in output), (
                f"{command}\nshown:  {line}\noutput:\n" + "\n".join(output)
            )


def test_every_printed_output_in_the_docs_comes_from_docs_outputs_py():
    """Each output block carries the comment `docs/outputs.py` writes it by: none was written by hand."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "docs" / "outputs.py"), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_the_site_holds_the_pages_not_the_scripts_that_write_them(tmp_path):
    built = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stderr
    assert (tmp_path / "site" / "tutorial" / "index.html").is_file()
    assert list((tmp_path / "site").rglob("*.py")) == []  # docs/outputs.py and docs/screenshots.py stay out
