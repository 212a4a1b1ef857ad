"""The model file: one that describes itself, the only save/load pair for a trained model.

It is safetensors: the weight matrices and bias vectors, and in its header the layer sizes,
image size, normalization, classes, config, metrics, library versions and a format version. A
committee holds several networks of one shape, trained apart on the same split, whose
probabilities are averaged: each network's tensors under `members.{k}.`, and their count in the
header (format version 2).
It carries no code, and numpy alone reads it. (What resuming a run needs beyond the model is
the trainer's, in `learn.run_files`.) A write goes to a temporary file renamed into place, so
a kill never leaves half a file.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from importlib.resources import files
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
from safetensors import SafetensorError, safe_open
from safetensors.numpy import save_file

from ..atomic import atomic_path
from ..errors import DigitsError, first_line
from .results import Result

FORMAT = "digits-mlp"
FORMAT_VERSION = 2  # 2: a committee's file; a single network's is still written as version 1
SHIPPED_MODEL = Path(str(files("digits") / "pretrained" / "mnist.safetensors"))  # configs/mnist.toml's run


@dataclass
class Network:
    """One stack of Linear+ReLU layers: its weight matrices, (n_out, n_in), and bias vectors, (n_out,)."""

    weights: list[np.ndarray]
    biases: list[np.ndarray]


@dataclass
class ModelFile:
    """A trained model as numpy arrays, with everything needed to feed it an image: one network, or
    a committee of several whose probabilities are averaged."""

    path: Path
    networks: list[Network]
    layer_sizes: list[int]
    image_size: int
    mean: float
    std: float
    classes: list[str]
    config: dict[str, Any]
    metrics: dict[str, Any]
    versions: dict[str, str]

    @property
    def weights(self) -> list[np.ndarray]:
        """The first network's weight matrices: the one the page and `info --weights` show (a
        committee's networks share their shape)."""
        return self.networks[0].weights

    @property
    def biases(self) -> list[np.ndarray]:
        return self.networks[0].biases


def save_model(
    path: Path,
    state: dict[str, np.ndarray],
    *,
    layer_sizes: list[int],
    image_size: int,
    mean: float,
    std: float,
    classes: list[str],
    config: dict[str, Any],
    metrics: dict[str, Any],
    members: int = 1,
) -> None:
    """Write a model file: `state` maps "layers.{i}.weight" and "layers.{i}.bias" to arrays, or for
    a committee of `members` networks, "members.{k}.layers.{i}.weight" and "….bias"."""
    header = {
        "format": FORMAT,
        "format_version": 1 if members == 1 else 2,
        "members": members,
        "layer_sizes": layer_sizes,
        "image_size": image_size,
        "mean": mean,
        "std": std,
        "classes": classes,
        "config": config,
        "metrics": metrics,
        "versions": _versions(),
    }
    metadata = {key: json.dumps(value) for key, value in header.items()}
    with atomic_path(path) as tmp:
        save_file({k: np.ascontiguousarray(v) for k, v in state.items()}, str(tmp), metadata=metadata)


def load_model_file(path: Path | None = None) -> ModelFile:
    """Read a model file written by save_model, checking that it is one, and whole.

    Without a path: the model shipped inside digits, so that reading works right after install,
    from anywhere; a model you train answers only where you name it, never in its place unasked.
    """
    if path is None:
        path = SHIPPED_MODEL
    path = Path(path)
    if not path.is_file():
        raise DigitsError(f"{path}: checkpoint not found (train one with `digits train`)")
    try:
        with safe_open(str(path), framework="numpy") as f:
            metadata = f.metadata() or {}
            # a committee's tensors are stored as float16 (see learn/committee.py); all are read as float32
            tensors = {key: f.get_tensor(key).astype(np.float32) for key in f.keys()}  # noqa: SIM118 (safe_open is not iterable)
        header = {key: json.loads(value) for key, value in metadata.items()}
    except (SafetensorError, OSError, ValueError) as e:
        raise DigitsError(f"{path}: not a digits checkpoint, or damaged ({first_line(e)})") from None
    if header.get("format") != FORMAT:
        raise DigitsError(f"{path}: not a digits checkpoint (no '{FORMAT}' format in its header)")
    if not isinstance(header.get("format_version"), int) or header["format_version"] > FORMAT_VERSION:
        raise DigitsError(
            f"{path}: checkpoint format {header.get('format_version')} is newer than this digits "
            f"reads ({FORMAT_VERSION}); upgrade digits"
        )
    try:
        sizes = [int(n) for n in header["layer_sizes"]]
        networks = [
            Network(
                [tensors[f"{prefix}layers.{i}.weight"] for i in range(len(sizes) - 1)],
                [tensors[f"{prefix}layers.{i}.bias"] for i in range(len(sizes) - 1)],
            )
            for prefix in network_prefixes(int(header.get("members", 1)))
        ]
        model = ModelFile(
            path=path,
            networks=networks,
            layer_sizes=sizes,
            image_size=int(header["image_size"]),
            mean=float(header["mean"]),
            std=float(header["std"]),
            classes=list(header["classes"]),
            config=dict(header["config"]),
            metrics=dict(header["metrics"]),
            versions=dict(header["versions"]),
        )
    except (KeyError, TypeError, ValueError) as e:
        raise DigitsError(f"{path}: checkpoint header is incomplete ({e!r} missing or wrong)") from None
    shapes_ok = model.layer_sizes[0] == model.image_size**2 and all(
        w.shape == (n_out, n_in) and b.shape == (n_out,)
        for network in networks
        for w, b, (n_in, n_out) in zip(network.weights, network.biases, pairwise(sizes), strict=True)
    )
    if not shapes_ok:
        raise DigitsError(f"{path}: weight shapes do not match layer sizes {sizes}")
    return model


def network_prefixes(members: int) -> list[str]:
    """How each network's tensors are named: "layers.{i}.weight" for one; "members.{k}.layers.{i}.weight"
    for each of a committee's."""
    return [""] if members == 1 else [f"members.{k}." for k in range(members)]


@dataclass
class Layer:
    layer: int  # 1 for the first
    weights: tuple[int, int]  # the weight matrix's shape: (outputs, inputs)
    biases: int
    parameters: int
    activations: int  # numbers the layer computes for one image
    activation: str  # "ReLU" for a hidden layer, "scores" for the last


@dataclass
class ModelSummary(Result):
    """What a model is made of and how it was trained, as `digits info` shows it."""

    checkpoint: Path
    layer_sizes: list[int]
    layers: list[Layer]  # of one network
    networks: int  # 1, or a committee's count, each network with these layers
    parameters: int  # of all the networks
    image_size: int
    mean: float
    std: float
    classes: list[str]
    metrics: dict
    config: dict
    versions: dict


def summarize(model: ModelFile) -> ModelSummary:
    """Each layer's weight shape, bias length, parameter count and activations, and the totals (of
    every network in a committee)."""
    layers = [
        Layer(
            i,
            weight.shape,
            len(bias),
            int(weight.size + bias.size),
            len(bias),
            "ReLU" if i < len(model.weights) else "scores",
        )
        for i, (weight, bias) in enumerate(zip(model.weights, model.biases, strict=True), 1)
    ]
    return ModelSummary(
        model.path,
        model.layer_sizes,
        layers,
        len(model.networks),
        sum(layer.parameters for layer in layers) * len(model.networks),
        model.image_size,
        model.mean,
        model.std,
        model.classes,
        model.metrics,
        model.config,
        model.versions,
    )


def _versions() -> dict[str, str]:
    found = {"python": sys.version.split()[0]}
    for package in ("digits", "torch", "numpy"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "unknown"
    return found
