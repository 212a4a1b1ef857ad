"""Learning: the training config and data, the drawn non-digits, the torch network, the trainer and its
run files, the fit's verdict, the learning-rate finder, plots and ONNX export; builds on `digits.read`."""
