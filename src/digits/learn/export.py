"""A model file as ONNX, for runtimes other than Python: pixels in, each answer's probability out
(0 to 9, then "not a digit" where the model has it), and the answer, the likeliest of them, as
`digits evaluate` and `predict` take it.

The graph is written node by node with the `onnx` package (no torch, no tracing): reshape the
(N, size, size) pixel matrices, 0 = paper and 255 = ink, to rows; scale to [0, 1] and
standardize with the training pixels' mean and std, as `data.normalize` does; then each layer's
MatMul and Add, ReLU between them, and a softmax; for a committee, each network's, averaged (Mean);
then the argmax. A consumer only prepares the digit the MNIST
way (crop, 20×20 box, centre of mass in the frame), as `digits show` prints it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from ..atomic import atomic_path
from ..read.checkpoint import ModelFile, network_prefixes
from ..read.results import layers_text

OPSET = 17


def export_onnx(model: ModelFile, path: Path) -> Path:
    """Write `model` to `path` as an ONNX model (opset 17): input "pixels" float32 (N, size, size),
    outputs "probabilities" float32 (N, classes) and "answer" int64 (N,), the likeliest class's index
    (10: not a digit)."""
    size, classes = model.image_size, len(model.classes)
    constants = [
        numpy_helper.from_array(np.array([-1, size * size], dtype=np.int64), "row_shape"),
        numpy_helper.from_array(np.array(255, dtype=np.float32), "full_ink"),
        numpy_helper.from_array(np.array(model.mean, dtype=np.float32), "mean"),
        numpy_helper.from_array(np.array(model.std, dtype=np.float32), "std"),
    ]
    nodes = [
        helper.make_node("Reshape", ["pixels", "row_shape"], ["rows"]),
        helper.make_node("Div", ["rows", "full_ink"], ["scaled"]),
        helper.make_node("Sub", ["scaled", "mean"], ["centred"]),
        helper.make_node("Div", ["centred", "std"], ["x0"]),
    ]
    last = len(model.layer_sizes) - 2
    names = network_prefixes(len(model.networks))  # tensors named as in the model file
    for name, network in zip(names, model.networks, strict=True):
        for i, (weight, bias) in enumerate(zip(network.weights, network.biases, strict=True)):
            constants += [
                numpy_helper.from_array(np.ascontiguousarray(weight.T, dtype=np.float32), f"{name}layers.{i}.weight_t"),
                numpy_helper.from_array(bias.astype(np.float32), f"{name}layers.{i}.bias"),
            ]
            x = "x0" if i == 0 else f"{name}x{i}"
            nodes += [
                helper.make_node("MatMul", [x, f"{name}layers.{i}.weight_t"], [f"{name}product{i}"]),
                helper.make_node(
                    "Add",
                    [f"{name}product{i}", f"{name}layers.{i}.bias"],
                    [f"{name}scores" if i == last else f"{name}linear{i}"],
                ),
            ]
            if i < last:
                nodes.append(helper.make_node("Relu", [f"{name}linear{i}"], [f"{name}x{i + 1}"]))
        nodes.append(helper.make_node("Softmax", [f"{name}scores"], [f"{name}softmax"], axis=1))
    nodes += [
        helper.make_node("Mean", [f"{name}softmax" for name in names], ["probabilities"]),  # a committee's average
        helper.make_node("ArgMax", ["probabilities"], ["answer"], axis=1, keepdims=0),
    ]
    graph = helper.make_graph(
        nodes,
        "digits",
        [helper.make_tensor_value_info("pixels", TensorProto.FLOAT, ["batch", size, size])],
        [
            helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", classes]),
            helper.make_tensor_value_info("answer", TensorProto.INT64, ["batch"]),
        ],
        constants,
    )
    exported = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="digits")
    exported.doc_string = f"digits {layers_text(model.layer_sizes)} from {model.path.name}; classes {model.classes}"
    onnx.checker.check_model(exported)
    with atomic_path(Path(path)) as tmp:
        onnx.save(exported, str(tmp))
    return Path(path)
