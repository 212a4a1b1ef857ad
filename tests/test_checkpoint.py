"""The model file: a round trip through safetensors, numpy agreeing with torch, bad files refused."""

from __future__ import annotations

import dataclasses
import json
import os
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import run_digits
from digits.errors import DigitsError
from digits.learn.model import DigitMLP
from digits.read.checkpoint import FORMAT_VERSION, load_model_file, save_model
from digits.read.datasets import TEST_DIR, load_idx_dir, normalize
from digits.read.forward import activations, answers, probabilities

ROOT = Path(__file__).resolve().parent.parent


def _torch_model(model_file) -> DigitMLP:
    net = DigitMLP(model_file.layer_sizes[0], model_file.layer_sizes[1:-1], model_file.layer_sizes[-1])
    state = {}
    for i, (weight, bias) in enumerate(zip(model_file.weights, model_file.biases, strict=False)):
        state[f"layers.{i}.weight"], state[f"layers.{i}.bias"] = torch.from_numpy(weight), torch.from_numpy(bias)
    net.load_state_dict(state)
    return net.eval()


def test_numpy_forward_agrees_with_torch_on_the_test_split(trained, test_split):
    model = load_model_file(trained)
    with torch.no_grad():
        expected = _torch_model(model)(torch.from_numpy(normalize(test_split.images, model.mean, model.std)))
    np.testing.assert_allclose(activations(model, test_split.images)[-1], expected.numpy(), atol=1e-5, rtol=1e-5)


def test_round_trip_keeps_weights_and_description(tmp_path):
    rng = np.random.default_rng(0)
    state = {
        "layers.0.weight": rng.standard_normal((8, 16), dtype=np.float32),
        "layers.0.bias": rng.standard_normal(8, dtype=np.float32),
        "layers.1.weight": rng.standard_normal((10, 8), dtype=np.float32),
        "layers.1.bias": rng.standard_normal(10, dtype=np.float32),
    }
    path = tmp_path / "m.safetensors"
    save_model(
        path,
        state,
        layer_sizes=[16, 8, 10],
        image_size=4,
        mean=0.1,
        std=0.3,
        classes=list("0123456789"),
        config={"model": {"hidden": [8]}},
        metrics={"val_loss": 0.5},
    )
    model = load_model_file(path)
    np.testing.assert_array_equal(model.weights[1], state["layers.1.weight"])
    np.testing.assert_array_equal(model.biases[0], state["layers.0.bias"])
    assert (model.image_size, model.mean, model.std, model.metrics) == (4, 0.1, 0.3, {"val_loss": 0.5})
    assert not list(tmp_path.glob(".*tmp"))  # the temporary file was renamed into place
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # readable like any file the user writes


def _rewrite_header(path, change) -> None:
    raw = path.read_bytes()
    size = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8 : 8 + size])
    change(header["__metadata__"])
    encoded = json.dumps(header).encode()
    encoded += b" " * (-len(encoded) % 8)
    path.write_bytes(struct.pack("<Q", len(encoded)) + encoded + raw[8 + size :])


def test_newer_format_is_refused_with_advice(trained, tmp_path):
    path = tmp_path / "newer.safetensors"
    path.write_bytes(trained.read_bytes())
    _rewrite_header(path, lambda meta: meta.update(format_version=str(FORMAT_VERSION + 1)))
    with pytest.raises(DigitsError, match=r"newer than this digits reads.*upgrade digits"):
        load_model_file(path)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda good: b"", "not a digits checkpoint, or damaged"),
        (lambda good: good[: len(good) // 2], "not a digits checkpoint, or damaged"),
        (lambda good: b"PK\x03\x04 a zip, like torch.save writes", "not a digits checkpoint, or damaged"),
    ],
    ids=["empty", "truncated", "not-safetensors"],
)
def test_bad_checkpoint_files_are_refused(trained, tmp_path, make, message):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(make(trained.read_bytes()))
    with pytest.raises(DigitsError, match=message):
        load_model_file(path)


def test_foreign_safetensors_file_is_refused(tmp_path):
    from safetensors.numpy import save_file

    path = tmp_path / "other.safetensors"
    save_file({"weight": np.zeros((2, 2), dtype=np.float32)}, str(path))
    with pytest.raises(DigitsError, match="not a digits checkpoint"):
        load_model_file(path)


def test_missing_checkpoint_says_how_to_make_one(tmp_path):
    with pytest.raises(DigitsError, match="checkpoint not found \\(train one with `digits train`\\)"):
        load_model_file(tmp_path / "none.safetensors")


def test_shipped_model_is_the_full_mnist_run_and_reads_the_test_digits(tmp_path, test_split):
    from digits.learn.config import config_from_dict, load_config
    from digits.read.checkpoint import SHIPPED_MODEL
    from digits.read.metrics import evaluate

    model = load_model_file(SHIPPED_MODEL)
    made_by = dataclasses.asdict(load_config(ROOT / "configs" / "mnist.toml"))
    stored = dataclasses.asdict(config_from_dict(model.config, str(SHIPPED_MODEL)))  # keys added since: defaults
    for config in (made_by, stored):  # -1 splits with train.seed: the same split as 0 for seed 0
        if config["data"]["split_seed"] == -1:
            config["data"]["split_seed"] = config["train"]["seed"]
    for section, values in made_by.items():  # all but where its files came from and went
        for key, value in values.items():
            if key not in ("path", "output"):
                assert stored[section][key] == value, f"{section}.{key}"
    assert model.layer_sizes == [784, 1500, 1000, 500, 11] and model.classes[-1] == "not a digit"
    assert len(model.networks) == 3 and len(model.metrics["networks"]) == 3  # a committee of three runs
    assert evaluate(model, test_split).accuracy >= 0.99
    result = run_digits("evaluate", "--json", cwd=tmp_path)  # no checkpoints/ here: the shipped model
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["checkpoint"] == str(SHIPPED_MODEL)


def test_a_committee_averages_its_networks_everywhere_a_model_is_read(tmp_path, quick_config, test_split):
    """Two networks trained apart on one split (data.split_seed), joined by `digits committee`: its
    probabilities are their average in numpy, in evaluate and in the ONNX graph."""
    import onnxruntime

    config = tmp_path / "member.toml"
    config.write_text(quick_config.read_text().replace("[data]", "[data]\nsplit_seed = 0"))
    members = []
    for seed in (1, 2):
        members.append(tmp_path / f"seed{seed}.safetensors")
        trained = run_digits("train", "--config", str(config), "--seed", str(seed), "--epochs", "2", "-q",
                             "--output", str(members[-1]))  # fmt: skip
        assert trained.returncode == 0, trained.stderr
    joined = run_digits("committee", *map(str, members), "--output", str(tmp_path / "committee.safetensors"))
    assert joined.returncode == 0, joined.stderr
    assert "committee" in joined.stdout and "Saved the committee of 2 networks" in joined.stdout

    committee = load_model_file(tmp_path / "committee.safetensors")
    assert len(committee.networks) == 2 and committee.metrics["val_accuracy"] > 0.5
    each = [probabilities(load_model_file(path), test_split.images) for path in members]
    averaged = probabilities(committee, test_split.images)
    np.testing.assert_allclose(averaged, np.mean(each, axis=0), atol=2e-3)  # its weights stored as float16
    assert (answers(averaged) == answers(np.mean(each, axis=0))).mean() >= 0.999
    assert not np.allclose(each[0], each[1], atol=1e-3)  # two networks, not one twice

    evaluated = json.loads(
        run_digits("evaluate", "--checkpoint", str(tmp_path / "committee.safetensors"), "--json").stdout
    )
    onnx_path = tmp_path / "committee.onnx"
    assert run_digits("export", str(onnx_path), "--checkpoint", str(tmp_path / "committee.safetensors")).returncode == 0
    session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    test = load_idx_dir(TEST_DIR, "t10k")  # what evaluate reads by default
    exported, answer = session.run(None, {"pixels": test.images.astype(np.float32)})
    np.testing.assert_allclose(exported, probabilities(committee, test.images), atol=1e-5)
    assert (answer == answers(exported)).all()
    assert evaluated["samples"] == len(test.labels)
    assert evaluated["accuracy"] == pytest.approx((answer == test.labels).mean())

    # networks split otherwise (each its own train.seed) hold out other images: refused, saying why
    other = tmp_path / "other.safetensors"
    assert run_digits("train", "--config", str(quick_config), "--seed", "3", "--epochs", "1", "-q",
                      "--output", str(other)).returncode == 0  # fmt: skip
    refused = run_digits("committee", str(members[0]), str(other), "--output", str(tmp_path / "x.safetensors"))
    assert refused.returncode == 1 and "data.split_seed" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1 and not (tmp_path / "x.safetensors").exists()
