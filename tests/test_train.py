"""Training as a user runs it: real data, real files, the per-epoch report and the verdict."""

from __future__ import annotations

import csv
import json
import signal
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import TRAIN_EPOCHS, run_digits, start_training, wait_for
from digits.learn.config import Config, load_config
from digits.learn.history import EpochRecord, Fit, diagnose, epoch_fit, kept_epoch, read_history
from digits.learn.run_files import RunFiles, load_resume_state
from digits.learn.trainer import train
from digits.read.checkpoint import load_model_file

ROOT = Path(__file__).resolve().parent.parent
HISTORIES = ROOT / "tests" / "histories"


def test_train_reports_every_epoch_and_a_verdict(trained):
    stdout = (trained.parent / "stdout.txt").read_text()
    lines = stdout.splitlines()
    assert lines[0].split() == [
        "epoch",
        "train",
        "loss",
        "val",
        "loss",
        "train",
        "acc",
        "val",
        "acc",
        "lr",
        "time",
        "fit",
    ]
    rows = [line.split() for line in lines[1 : 1 + TRAIN_EPOCHS]]
    assert [row[0] for row in rows] == [str(e) for e in range(1, TRAIN_EPOCHS + 1)]
    assert all(row[-1] in ("good", "underfit", "overfit") for row in rows)
    assert "Verdict: " in stdout
    assert f"Saved {trained}" in stdout


def test_train_saves_best_model_history_and_resume_state(trained):
    with RunFiles.beside(trained).history.open() as f:
        history = list(csv.DictReader(f))
    assert [int(row["epoch"]) for row in history] == list(range(1, TRAIN_EPOCHS + 1))
    best = min(history, key=lambda row: float(row["val_loss"]))

    model = load_model_file(trained)
    assert model.layer_sizes == [784, 512, 256, 11]
    assert model.metrics["epoch"] == int(best["epoch"])
    assert model.metrics["val_loss"] == pytest.approx(float(best["val_loss"]), rel=1e-5)
    assert model.config["train"]["epochs"] == TRAIN_EPOCHS
    assert 0.05 < model.mean < 0.3 and 0.2 < model.std < 0.5  # MNIST: mostly paper, some ink
    assert set(model.versions) >= {"torch", "numpy", "python", "digits"}

    state = load_resume_state(RunFiles.beside(trained).state)
    assert len(state["history"]) == TRAIN_EPOCHS
    assert set(state) >= {"config", "model", "optimizer", "schedule", "generator", "torch_rng", "best_epoch"}


def test_training_beats_chance_by_a_wide_margin(trained):
    result = run_digits("evaluate", "--checkpoint", str(trained), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["accuracy"] > 0.85  # chance is 0.1


def _config(tmp_path, name: str, **train) -> Config:
    config = Config()
    config.model.hidden = [32]
    config.train.epochs = 2
    config.train.output = str(tmp_path / f"{name}.safetensors")
    for key, value in train.items():
        setattr(config.train, key, value)
    return config


def test_same_seed_same_weights(tmp_path):
    first = train(_config(tmp_path, "a"))
    second = train(_config(tmp_path, "b"))
    assert [r.train_loss for r in first.history] == [r.train_loss for r in second.history]
    a, b = load_model_file(first.output), load_model_file(second.output)
    assert all(np.array_equal(x, y) for x, y in zip(a.weights + a.biases, b.weights + b.biases, strict=False))
    c = load_model_file(train(_config(tmp_path, "c", seed=1)).output)
    assert not np.array_equal(a.weights[0], c.weights[0])


def test_divergence_ends_the_run_with_its_cause(tmp_path, quick_config):
    output = str(tmp_path / "m.safetensors")
    command = ("train", "--config", str(quick_config), "--lr", "1000", "--epochs", "2", "--output", output)
    result = run_digits(*command)
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        "error: lower the learning rate from --lr 1000: training diverged in epoch 1 (the loss became nan); "
        f"`digits lr-find --config {quick_config}` suggests one"
    )
    assert "Traceback" not in result.stderr
    summary = json.loads(run_digits(*command, "--json").stdout)
    assert summary["stopped"] == "diverged" and summary["diagnosis"]["cause"] == "learning_rate_too_high"
    assert summary["history"][0]["train_loss"] is None  # NaN, which JSON cannot hold


def test_unwritable_output_fails_before_training(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = run_digits("train", "--output", str(blocker / "m.safetensors"))
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: {blocker / 'm.safetensors'}: cannot write the checkpoint here")
    assert "epoch" not in result.stdout


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_missing_cuda_is_a_clear_error(tmp_path):
    result = run_digits("train", "--device", "cuda", "--output", str(tmp_path / "m.safetensors"))
    assert result.returncode == 2  # a flag this machine cannot honour: a usage error, as --help says
    assert result.stderr.strip() == "error: --device cuda: CUDA is not available on this machine (try --device cpu)"


def _history(*rows: tuple[float, float, float, float], overshoot: float = 0.0) -> list[EpochRecord]:
    history: list[EpochRecord] = []
    for epoch, (train_loss, val_loss, train_acc, val_acc) in enumerate(rows, 1):
        history.append(EpochRecord(epoch, train_loss, val_loss, train_acc, val_acc, 0.05, 1.0))
        history[-1].overshoot = overshoot if epoch == 1 else 0.0
        history[-1].fit = epoch_fit(history)
    return history


def _settings(name: str = "default", **keys) -> Config:
    """configs/NAME.toml with `section__key=value` changes."""
    config = load_config(ROOT / "configs" / f"{name}.toml")
    for key, value in keys.items():
        section, field = key.split("__")
        setattr(getattr(config, section), field, value)
    return config


# Histories recorded by benchmarks/verdicts.py (seeds 0–2 on the bundled sample), the runs whose cause is known
RECORDED = [
    ("default-lr-5e-05", ("default", {"train__lr": 5e-5}), "learning_rate_too_low", "raise the learning rate from"),
    # seed 7, unseen: its initial weights began further from a guess, so its first epoch fell 3× the others
    ("default-lr-5e-05-seed-7", ("default", {"train__lr": 5e-5}), "learning_rate_too_low", "raise the learning rate"),
    ("hidden-lr-1e-05", ("hidden", {"train__lr": 1e-5}), "learning_rate_too_low", "raise the learning rate from"),
    ("default-3-epochs", ("default", {"train__epochs": 3}), "too_few_epochs", "train for more than 3 epochs"),
    # its first epoch's loss rose 3.5% on the way: noise, which once told this run to lower the rate
    ("underfit-hidden-1", ("underfit", {"model__hidden": [1]}), "too_small", "widen model.hidden beyond [1]"),
    # seed 3, unseen when the rules were first set: stuck near a guess for its first epoch, then levelled off
    ("underfit-hidden-1-stuck-start", ("underfit", {"model__hidden": [1]}), "too_small", "widen model.hidden"),
    # seed 12, unseen: its one unit never fired, so its loss stayed at a guess's for all 5 epochs
    ("underfit-hidden-1-dead", ("underfit", {"model__hidden": [1], "train__epochs": 5}), "too_small", "widen"),
    ("underfit", ("underfit", {}), "too_small", "widen model.hidden beyond [4]"),
    ("overfit", ("overfit", {}), "memorizing", "to generalize, try more training images"),
    (
        "wide-4096-on-1000",
        ("default", {"model__hidden": [4096], "data__train_images": 1000, "data__augment": False, "train__epochs": 20}),
        "memorizing",
        "to generalize, try more training images (data.train_images above 1,000",
    ),
    ("hidden", ("hidden", {}), "none", "nothing to change"),
    ("default", ("default", {}), "none", "nothing to change"),
]


@pytest.mark.parametrize(("name", "config", "cause", "advice"), RECORDED, ids=[r[0] for r in RECORDED])
def test_recorded_runs_get_their_cause(name, config, cause, advice):
    history = read_history(HISTORIES / f"{name}.csv")
    diagnosis = diagnose(history, _settings(config[0], **config[1]))
    assert diagnosis.cause == cause
    assert diagnosis.advice.startswith(advice)
    assert diagnosis.fit is {"memorizing": Fit.OVERFIT, "none": Fit.GOOD}.get(cause, Fit.UNDERFIT)


@pytest.mark.parametrize(("name", "labels"), [("default", "ug"), ("overfit", "ugo"), ("underfit", "u")])
def test_the_fit_column_changes_only_with_the_trend(name, labels):
    # the default run's validation loss moves ±10% from one epoch to the next: its labels must not flip with it
    history = read_history(HISTORIES / f"{name}.csv")
    column = [epoch_fit(history[:epoch]).value[0] for epoch in range(1, len(history) + 1)]
    assert "".join(label for i, label in enumerate(column) if i == 0 or label != column[i - 1]) == labels


def test_a_run_stopped_before_its_last_epoch_is_told_to_finish():
    history = read_history(HISTORIES / "default-3-epochs.csv")  # still falling fast after 3 epochs...
    diagnosis = diagnose(history, _settings())  # ...of the default's 50: Ctrl-C stopped it
    assert diagnosis.cause == "too_few_epochs"
    assert diagnosis.advice.startswith("finish the run's 50 epochs (it stopped after 3; `--resume` goes on)")


def test_a_rate_that_blows_the_loss_up_is_too_high():
    # the issue's --lr 2: the loss overshot far above where it started, then stayed near a guess's (ln 11 = 2.40)
    history = _history(*[(2.36, 2.36, 0.11, 0.11)] * 4, overshoot=149.0)
    diagnosis = diagnose(history, _settings(train__lr=2.0))
    assert diagnosis.cause == "learning_rate_too_high"
    assert diagnosis.advice.startswith(
        "lower the learning rate from train.lr = 2.0: in epoch 1 the training loss blew up"
    )


def test_a_diverged_epoch_is_a_rate_too_high():
    history = _history((0.6, 0.6, 0.85, 0.85), (float("nan"), float("nan"), 0.1, 0.1))
    assert diagnose(history, _settings(train__lr=0.5)).cause == "learning_rate_too_high"
    assert history[-1].fit is Fit.UNDERFIT


def test_memorizing_advice_fits_the_config():
    history = read_history(HISTORIES / "overfit.csv")
    advice = diagnose(history, _settings("overfit", model__dropout=0.3)).advice
    assert "data.train_images above 500" in advice and "data.augment = true" in advice
    assert "dropout" not in advice and "elastic" not in advice
    augmented = diagnose(history, _settings(data__train_images=500)).advice
    assert "data.augment" not in augmented and "model.dropout = 0.2" in augmented


def test_kept_epoch_by_loss_or_accuracy():
    history = read_history(HISTORIES / "overfit.csv")
    by_loss, by_accuracy = kept_epoch(history, "loss"), kept_epoch(history, "accuracy")
    assert history[by_loss - 1].val_loss == min(r.val_loss for r in history)
    assert history[by_accuracy - 1].val_accuracy == max(r.val_accuracy for r in history)
    assert by_accuracy > by_loss


def test_the_summary_names_a_later_more_accurate_epoch_and_keep_accuracy_keeps_it(tmp_path):
    overfit = str(ROOT / "configs" / "overfit.toml")
    by_loss = run_digits("train", "--config", overfit, "--output", str(tmp_path / "loss.safetensors"))
    assert by_loss.returncode == 0, by_loss.stderr
    history = read_history(tmp_path / "loss.history.csv")
    kept = min(history, key=lambda r: r.val_loss)
    most = max(history[kept.epoch :], key=lambda r: r.val_accuracy)
    assert most.val_accuracy > kept.val_accuracy  # overfit.toml's lesson: less sure, yet right more often
    assert f"Kept epoch {kept.epoch}, by lowest validation loss" in by_loss.stdout
    gain = (most.val_accuracy - kept.val_accuracy) * 100
    assert (
        f"  Epoch {most.epoch} was more accurate on the validation images, {most.val_accuracy:.2%} (+{gain:.2f} points)"
        in (by_loss.stdout)
    )
    keep_accuracy = tmp_path / "keep.toml"
    keep_accuracy.write_text(Path(overfit).read_text().replace("[train]\n", '[train]\nkeep = "accuracy"\n'))
    by_accuracy = run_digits("train", "--config", str(keep_accuracy), "--output", str(tmp_path / "a.safetensors"))
    assert by_accuracy.returncode == 0, by_accuracy.stderr
    best = max(history, key=lambda r: (r.val_accuracy, -r.val_loss))  # the same run: the same seed, the same epochs
    assert f"Kept epoch {best.epoch}, by highest validation accuracy" in by_accuracy.stdout
    assert load_model_file(tmp_path / "a.safetensors").metrics["epoch"] == best.epoch
    assert "was more accurate" not in by_accuracy.stdout


def test_early_stopping_is_said_under_the_table(tmp_path):
    config = tmp_path / "stop.toml"
    config.write_text(
        "[data]\ntrain_images = 500\naugment = false\nnon_digits = 0\n[model]\nhidden = [1024]\n"
        '[train]\nepochs = 30\npatience = 2\nweight_decay = 0.0\nschedule = "constant"\n'
    )
    output = tmp_path / "m.safetensors"
    text = run_digits("train", "--config", str(config), "--output", str(output))
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    epochs = len(RunFiles.beside(output).history.read_text().splitlines()) - 1
    assert epochs < 30 and lines[epochs].split()[0] == str(epochs)  # the last row, then the stop
    assert lines[epochs + 1] == (
        f"Stopped early after epoch {epochs}: the kept model has not improved for 2 epochs (patience 2)"
    )
    assert "Verdict: overfitting (the network learns its training images by heart) — to generalize" in text.stdout
    assert f"training stopped early at epoch {epochs} (train.patience = 2)" in text.stdout


def test_resume_ends_where_the_uninterrupted_run_ends(tmp_path):
    whole = train(_config(tmp_path, "whole", epochs=4))
    config = _config(tmp_path, "cut", epochs=4)

    def interrupt_after_epoch_2(record: EpochRecord) -> None:
        if record.epoch == 2:
            raise KeyboardInterrupt

    cut = train(config, on_epoch=interrupt_after_epoch_2)
    assert (cut.stopped, cut.saved, [r.epoch for r in cut.history]) == ("interrupted", True, [1, 2])
    files = RunFiles.beside(config.train.output)
    assert len(load_resume_state(files.state)["history"]) == 2
    assert files.curves.stat().st_size > 10_000 and len(files.history.read_text().splitlines()) == 3
    resumed = train(config, resume=True)

    assert [r.epoch for r in resumed.history] == [1, 2, 3, 4]
    assert [(r.train_loss, r.val_loss) for r in resumed.history] == [(r.train_loss, r.val_loss) for r in whole.history]
    last_whole = load_resume_state(RunFiles.beside(whole.output).state)["model"]
    last_resumed = load_resume_state(RunFiles.beside(resumed.output).state)["model"]
    assert all(torch.equal(last_whole[name], last_resumed[name]) for name in last_whole)
    best_whole, best_resumed = load_model_file(whole.output), load_model_file(resumed.output)
    assert all(np.array_equal(a, b) for a, b in zip(best_whole.weights, best_resumed.weights, strict=True))


def test_resume_refuses_other_settings_and_finished_runs(one_epoch_run):
    output = str(one_epoch_run)
    changed = run_digits("train", "--epochs", "1", "--lr", "0.1", "--output", output, "--resume")
    assert changed.returncode == 1
    assert "this run was started with other settings (train.lr)" in changed.stderr
    finished = run_digits("train", "--epochs", "1", "--output", output, "--resume")
    assert finished.returncode == 1
    assert finished.stderr.strip().endswith(
        "this run finished all its 1 epochs; to continue it, ask for more (--epochs 11 for 10 more)"
    )


def test_a_finished_run_continues_for_more_epochs(one_epoch_run):
    output = str(one_epoch_run)
    result = run_digits("train", "--epochs", "3", "--output", output, "--resume")
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith(
        "Continuing after epoch 1, up to epoch 3: the learning-rate schedule starts again from its peak "
        "over the 2 epochs left"
    )
    assert [line.split()[0] for line in result.stdout.splitlines()[1:3]] == ["2", "3"]
    assert [r["epoch"] for r in load_resume_state(RunFiles.beside(output).state)["history"]] == [1, 2, 3]


def test_ctrl_c_keeps_the_best_model_and_says_how_to_resume(tmp_path):
    output = tmp_path / "m.safetensors"
    process = start_training(output, "--epochs", "300")
    wait_for(RunFiles.beside(output).history)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("Interrupted after epoch ") and "Traceback" not in stderr
    assert last.endswith(f"to continue: digits train --output {output} --epochs 300 --resume")
    assert load_model_file(output).metrics["epoch"] >= 1
    assert load_resume_state(RunFiles.beside(output).state)["history"]


def test_early_stopping_after_patience_epochs_without_improvement(tmp_path):
    # a rate too small to move float32 weights: validation loss never improves after epoch 1
    config = _config(tmp_path, "stuck", epochs=10, patience=2, lr=1e-12, momentum=0.0, schedule="constant")
    result = train(config)
    assert [r.epoch for r in result.history] == [1, 2, 3]
    assert result.best_epoch == 1 and result.stopped == "early"


def test_dropout_and_label_smoothing_train(tmp_path):
    config = _config(tmp_path, "regularized", label_smoothing=0.1)
    config.model.dropout = 0.2
    result = train(config)
    assert result.history[-1].val_accuracy > 0.8


def test_lr_find_suggests_a_rate_on_a_plot_of_the_descent():
    result = run_digits("lr-find")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    line = next(line for line in lines if line.startswith("Suggested learning rate: "))
    suggestion = float(line.split()[3])
    assert 1e-4 < suggestion < 1
    assert "the loss blew up past 4× its lowest" in result.stdout
    # the blow-up runs along the top row: the axis spans the descent, from the first loss (about
    # ln 11 = 2.4, chance) down to the lowest, and the descent fills the plot's rows
    plot = lines[1 : lines.index(next(x for x in lines if x.strip().startswith("└")))]
    assert float(plot[0].split("┤")[0]) < 3.0
    assert sum("•" in row for row in plot) >= 10
    assert any(x.strip() == f"▲ {suggestion:.3g}, suggested" for x in lines)


def test_training_input_is_the_same_as_inference_input(test_split):
    from digits.learn.config import DataConfig
    from digits.learn.data import Split
    from digits.learn.training_data import TrainingData
    from digits.read.datasets import normalize

    split = Split(test_split, test_split, mean=0.13, std=0.31)
    data = TrainingData(split, DataConfig(augment=False), torch.device("cpu"), torch.Generator().manual_seed(0))
    inputs, labels = data.batch("val", slice(0, 1000), augment=False)
    np.testing.assert_allclose(inputs.numpy(), normalize(test_split.images, 0.13, 0.31), rtol=1e-6)
    assert labels.tolist() == test_split.labels.tolist()


def test_lr_find_takes_the_very_step_that_training_takes(tmp_path):
    from digits.learn.history import SMOOTHING
    from digits.learn.lr_finder import find_lr
    from digits.learn.model import training_step
    from digits.learn.run_setup import make_optimizer, setup

    config = _config(tmp_path, "sweep", label_smoothing=0.2)  # with affine and elastic augmentation, as default
    start, end, steps = 1e-3, 1.0, 10
    finding = find_lr(config, start, end, steps)

    model, data = setup(config)  # the same seed: the same weights, order and distortions
    optimizer = make_optimizer(model, start, config)
    batches = data.shuffled_batches(config.train.batch_size)
    raw = []
    for lr in finding.learning_rates[:2]:
        optimizer.lr = lr
        inputs, targets = next(batches)
        loss = training_step(model, inputs, targets, optimizer, config.train.label_smoothing)
        raw.append(loss.item())
    assert finding.learning_rates[1] == pytest.approx(start * (end / start) ** (1 / (steps - 1)))
    smoothed_second = (SMOOTHING * (1 - SMOOTHING) * raw[0] + (1 - SMOOTHING) * raw[1]) / (1 - SMOOTHING**2)
    assert finding.losses[:2] == pytest.approx([raw[0], smoothed_second], rel=1e-6)

    config.train.label_smoothing = 0.0  # a different objective gives a different loss
    assert find_lr(config, start, end, steps).losses[0] != pytest.approx(raw[0], rel=1e-6)


@pytest.mark.parametrize("schedule", ["cosine", "onecycle", "constant"])
def test_sgd_written_out_steps_as_torch_optim_and_takes_over_its_resume_state(schedule):
    """The trainer's own SGD and schedules move the weights exactly as torch.optim.SGD and its schedulers
    (Nesterov momentum and weight decay on), and continue from a state torch.optim saved, as an older
    digits' resume file holds it."""
    from digits.learn.sgd import SGD, Schedule

    steps, switch = 40, 15
    schedulers = {
        "cosine": lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=steps),
        "onecycle": lambda o: torch.optim.lr_scheduler.OneCycleLR(o, max_lr=0.1, total_steps=steps, pct_start=0.25),
        "constant": lambda o: torch.optim.lr_scheduler.LambdaLR(o, lambda step: 1.0),
    }

    def network() -> torch.nn.Module:
        torch.manual_seed(0)
        return torch.nn.Sequential(torch.nn.Linear(12, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))

    def train(net, optimizer, schedule, first, last):
        for i in range(first, last):
            g = torch.Generator().manual_seed(i)
            loss = torch.nn.functional.cross_entropy(net(torch.randn(16, 12, generator=g)), torch.arange(16) % 3)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()

    theirs = network()
    torch_sgd = torch.optim.SGD(theirs.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
    torch_schedule = schedulers[schedule](torch_sgd)
    train(theirs, torch_sgd, torch_schedule, 0, switch)
    ours = network()
    ours.load_state_dict(theirs.state_dict())
    sgd = SGD(ours.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
    own_schedule = Schedule(sgd, schedule, steps)
    sgd.load_state_dict(torch_sgd.state_dict())
    own_schedule.load_state_dict(torch_schedule.state_dict())
    assert sgd.lr == pytest.approx(torch_sgd.param_groups[0]["lr"], rel=1e-12)
    train(theirs, torch_sgd, torch_schedule, switch, steps)
    train(ours, sgd, own_schedule, switch, steps)
    for mine, torch_s in zip(ours.parameters(), theirs.parameters(), strict=True):
        assert torch.equal(mine, torch_s)
