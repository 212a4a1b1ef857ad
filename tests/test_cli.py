"""The command line itself: help for every command, start-up cost, the README's commands."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import run_digits

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    "command, words",
    [
        ([], ["train", "evaluate", "predict", "Exit status"]),
        (
            ["train"],
            ["--config", "--epochs", "--lr", "--batch-size", "--seed", "--output", "--device", "--print-config"],
        ),
        (["evaluate"], ["--checkpoint", "--data", "--json"]),
        (["predict"], ["IMAGE", "--checkpoint", "--top-k", "--json"]),
    ],
)
def test_help_reads_clearly(command, words):
    result = run_digits(*command, "--help")
    assert result.returncode == 0, result.stderr
    for word in words:
        assert word in result.stdout


def test_help_and_predict_do_not_import_torch(trained, tmp_path, test_split):
    from conftest import ink_on_paper

    image = tmp_path / "seven.png"
    ink_on_paper(test_split.images[0]).save(image)
    script = (
        "import sys\n"
        "from digits.cli.app import app\n"
        "from typer.testing import CliRunner\n"
        "runner = CliRunner()\n"
        "assert runner.invoke(app, ['--help']).exit_code == 0\n"
        f"result = runner.invoke(app, ['predict', {str(image)!r}, '--checkpoint', {str(trained)!r}])\n"
        "assert result.exit_code == 0, result.output\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'torchvision')))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_no_command_shows_usage():
    result = run_digits()
    assert result.returncode in (0, 2)
    assert "Usage" in result.stdout + result.stderr


def test_ci_runs_exactly_the_readme_commands():
    readme = (ROOT / "README.md").read_text()
    commands = [
        line for line in (ROOT / ".ci" / "run").read_text().splitlines() if line and not line.startswith(("#", "set "))
    ]
    assert commands, ".ci/run runs nothing"
    for command in commands:
        assert f"\n{command}\n" in readme, f"{command!r} is not a README command"
