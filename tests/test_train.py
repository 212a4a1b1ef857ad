"""Training as a user runs it: real data, real files, the per-epoch report and the verdict."""

from __future__ import annotations

import csv
import json
import signal

import numpy as np
import pytest
import torch

from conftest import TRAIN_EPOCHS, run_digits, start_training, wait_for
from digits.learn.config import Config
from digits.learn.history import EpochRecord, Fit, diagnose, epoch_fit
from digits.learn.run_files import RunFiles, load_resume_state
from digits.learn.trainer import train
from digits.read.checkpoint import load_model_file


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


def test_divergence_stops_with_advice(tmp_path, quick_config):
    output = str(tmp_path / "m.safetensors")
    result = run_digits("train", "--config", str(quick_config), "--lr", "1000", "--epochs", "2", "--output", output)
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        "error: training diverged at epoch 1 (the loss became nan): --lr 1000 is too high; "
        "try a lower one (`digits lr-find` suggests one)"
    )
    assert "Traceback" not in result.stderr


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


def _settings(**keys) -> Config:
    """A default Config with `section__key=value` changes."""
    config = Config()
    for key, value in keys.items():
        section, name = key.split("__")
        setattr(getattr(config, section), name, value)
    return config


def test_diagnosis_underfitting():
    history = _history((2.0, 1.9, 0.4, 0.45), (1.5, 1.4, 0.6, 0.62))
    assert history[-1].fit is Fit.UNDERFIT
    diagnosis = diagnose(history, Config())
    assert diagnosis.fit.verdict == "underfitting"
    assert diagnosis.advice == (
        "training accuracy is 60.0%: widen model.hidden beyond [512, 256], train for more than 50 epochs "
        "or choose train.lr with `digits lr-find`"
    )


def test_underfitting_never_asks_for_a_rate_whose_loss_rose():
    # the smoothed batch loss climbed back by 9% of its first value in epoch 1: the steps overshoot
    history = _history((1.75, 1.82, 0.40, 0.40), (1.24, 1.24, 0.59, 0.59), (0.62, 0.63, 0.81, 0.81), overshoot=0.09)
    advice = diagnose(history, _settings(train__lr=0.3)).advice
    assert "raise" not in advice
    assert advice == (
        "training accuracy is 81.0%: lower the learning rate from train.lr = 0.3: in epoch 1 the training loss rose again, by 9% of its "
        "first value, so the steps overshoot (`digits lr-find` suggests a rate)"
    )


def test_good_fit_needs_validation_loss_to_level_off():
    still_falling = _history((0.30, 0.50, 0.96, 0.90), (0.20, 0.35, 0.97, 0.92), (0.15, 0.25, 0.975, 0.9425))
    diagnosis = diagnose(still_falling, _settings(train__epochs=3))
    assert diagnosis.fit is Fit.UNDERFIT
    assert diagnosis.advice == "validation loss still improved 50% over the last 2 epochs: train for more than 3 epochs"
    levelled = _history(*[(0.3 / n, 0.2 + 0.1 / n**2, 0.97, 0.96) for n in range(1, 7)])
    assert diagnose(levelled, Config()).fit.verdict == "good fit"
    one_epoch = diagnose(_history((0.1, 0.1, 0.97, 0.97)), _settings(train__epochs=1)).advice
    assert one_epoch == "1 epoch cannot show the validation loss levelling off: train for more than 1 epoch"


def test_diagnosis_overfitting_when_val_loss_rises_from_its_minimum():
    history = _history(
        (0.30, 0.20, 0.96, 0.960),
        (0.10, 0.12, 0.97, 0.965),
        (0.05, 0.14, 0.98, 0.960),
        (0.03, 0.15, 0.98, 0.960),
        (0.01, 0.16, 0.98, 0.955),
    )
    assert [r.fit for r in history] == [Fit.UNDERFIT] * 3 + [Fit.GOOD, Fit.OVERFIT]
    diagnosis = diagnose(history, Config())
    assert diagnosis.fit.verdict == "overfitting"
    assert diagnosis.advice.startswith("validation loss has risen since epoch 2 while training loss fell another 90%")


def test_overfitting_when_validation_loss_stalls_while_training_loss_falls():
    # the run: validation loss never better after epoch 4, training loss falling on
    rows = [(0.3 / n**2, 0.15 + 0.001 * abs(n - 4), 0.99, 0.96) for n in range(1, 8)]
    assert diagnose(_history(*rows), _settings(train__epochs=7)).fit is Fit.OVERFIT
    early = diagnose(_history(*rows), _settings(train__epochs=30, train__patience=3))
    assert early.fit is Fit.OVERFIT
    assert early.advice.startswith(
        "training stopped early at epoch 7 (train.patience = 3): validation loss has not improved since epoch 4"
    )


def test_overfitting_advice_fits_the_config():
    history = _history(
        (0.3, 0.2, 0.96, 0.96), (0.1, 0.12, 0.97, 0.97), *[(0.1 / n, 0.14, 0.99, 0.96) for n in (2, 3, 4)]
    )
    assert diagnose(history, Config()).advice.endswith(
        "try more training images, a higher train.weight_decay than 0.0005, model.dropout = 0.2 "
        "or narrower model.hidden than [512, 256]"
    )
    plain = _settings(data__augment=False, model__dropout=0.3, data__train_images=500)
    advice = diagnose(history, plain).advice
    assert "data.train_images above 500" in advice and "data.augment = true" in advice
    assert "dropout" not in advice and "elastic" not in advice


def test_a_gap_in_accuracy_alone_is_not_overfitting():
    history = _history(*[(0.01, 0.15, 1.0, 0.95)] * 3)
    assert diagnose(history, Config()).fit is Fit.GOOD


def test_small_noisy_data_that_still_learns_is_not_overfitting():
    # 600 images, 10 epochs: val loss fell every epoch; the accuracy gap is a few images' worth
    history = _history(
        (1.95, 2.01, 0.650, 0.567),
        (1.52, 1.60, 0.700, 0.650),
        (1.20, 1.25, 0.760, 0.700),
        (0.98, 1.03, 0.800, 0.733),
        (0.84, 0.88, 0.820, 0.767),
        (0.73, 0.76, 0.840, 0.783),
        (0.66, 0.68, 0.850, 0.800),
        (0.61, 0.62, 0.860, 0.817),
        (0.58, 0.59, 0.865, 0.817),
        (0.576, 0.578, 0.870, 0.833),
    )
    assert Fit.OVERFIT not in [r.fit for r in history]
    diagnosis = diagnose(history, Config())
    assert diagnosis.fit is Fit.UNDERFIT and "augment" not in diagnosis.advice


def test_val_bump_while_still_learning_is_not_overfitting():
    history = _history(
        (1.0, 0.30, 0.70, 0.91),
        (0.4, 0.29, 0.86, 0.92),
        (0.35, 0.21, 0.89, 0.93),
        (0.31, 0.25, 0.90, 0.92),
        (0.25, 0.23, 0.92, 0.94),
        (0.23, 0.29, 0.93, 0.92),
    )
    assert [r.fit for r in history] == [Fit.UNDERFIT] * 6


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
        f"Stopped early after epoch {epochs}: validation loss has not improved for 2 epochs (patience 2)"
    )
    assert "Verdict: overfitting — training stopped early" in text.stdout


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
