"""The mark classifier: rows drawn at random to learn from, the marks seen in their row's frame,
`digits train-marks`, and the weights it writes read back by `digits read`."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image

from conftest import run_digits
from digits.learn.mark_rows import draw_row, row_examples, row_pattern
from digits.read.mark_kinds import FRAME_SIDE, MARK_CLASSES, ROW_PX, row_frame


def test_rows_are_drawn_the_same_for_a_seed_and_each_mark_is_labelled(test_split):
    first = row_examples(np.random.default_rng(4), test_split.images, 40)
    again = row_examples(np.random.default_rng(4), test_split.images, 40)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    inputs, labels, rows, gaps = first
    assert inputs.shape == (len(labels), FRAME_SIDE**2 + 4) and len(rows) == len(gaps) == len(labels)
    assert set(labels[labels >= 0]) >= {MARK_CLASSES.index("digit"), MARK_CLASSES.index("not a digit")}
    assert (np.diff(rows) >= 0).all() and (gaps[np.diff(rows, prepend=-1) > 0] == 0).all()  # a row's first: no gap


def test_a_row_s_pattern_is_what_it_draws(test_split):
    rng = np.random.default_rng(2)
    patterns = [row_pattern(rng) for _ in range(200)]
    assert all(set(p) <= set("dxs.,-/:") and p for p in patterns)
    assert any("/" in p for p in patterns) and any(set(p) == {"d"} for p in patterns)  # dates and whole numbers
    picture, marks = draw_row(np.random.default_rng(9), test_split.images)
    assert picture.dtype == np.uint8 and (picture[0] == 255).all()  # white paper round the writing
    lefts = [left for left, _, _ in marks]
    assert lefts == sorted(lefts) and all(right > left for left, right, _ in marks)


def test_a_point_keeps_its_size_and_place_in_the_row_frame():
    """Framed in its row, a point is small and low; the same point blown up alone would fill the frame."""
    height, pen = 60, 8
    ink = np.zeros((pen, pen), np.float32) + 255
    top_line, baseline = 100.0, 160.0
    frame, place = row_frame(ink, (300, 152, 308, 160), top_line, baseline)
    rows, columns = np.nonzero(frame > 0.2)
    assert frame.shape == (FRAME_SIDE, FRAME_SIDE)
    assert rows.max() - rows.min() + 1 <= 4  # a pen's width, ROW_PX / height of it
    assert rows.min() >= ROW_PX * 1.3  # in the row's bottom part: the frame's row spans ROW_PX/2 to 3 ROW_PX/2
    assert abs(columns.mean() - FRAME_SIDE / 2) <= 1.5  # centred across
    np.testing.assert_allclose(place, [pen / height, pen / height, 52 / 60, 0.0], atol=1e-6)


def test_train_marks_reports_each_epoch_and_its_weights_are_read(tmp_path, test_split):
    config = tmp_path / "marks.toml"
    config.write_text(
        '[rows]\nsource = "sample"\ncount = 60\nval_count = 20\n'
        "[model]\nhidden = [16]\ncontext_hidden = [8]\n[train]\nepochs = 2\ncontext_epochs = 1\n"
    )
    output = tmp_path / "marks.safetensors"
    result = run_digits("train-marks", "--config", str(config), "--output", str(output))
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines() if line.strip()[:1].isdigit()]
    assert [row[0] for row in rows] == ["1", "2", "1"]  # the first network's epochs, then the second's
    assert all(float(row[1]) > 0 and float(row[2]) > 0 for row in rows)  # training and validation loss
    assert "each mark alone" in result.stdout and "neighbours" in result.stdout

    picture, _ = draw_row(np.random.default_rng(3), test_split.images)
    path = tmp_path / "row.png"
    Image.fromarray(picture).save(path)
    env = {"DIGITS_MARK_CLASSIFIER": str(output)}
    read = run_digits("read", str(path), "--json", env=env)
    assert "Traceback" not in read.stderr and json.loads(read.stdout)["digits"]

    output.write_bytes(b"not weights")
    broken = run_digits("read", str(path), env=env)
    assert broken.returncode != 0 and "Traceback" not in broken.stderr
    assert str(output) in broken.stderr and "mark classifier" in broken.stderr


def test_train_marks_refuses_a_bad_config_in_one_line(tmp_path):
    config = tmp_path / "marks.toml"
    config.write_text("[model]\nhidden = [0]\n")
    result = run_digits("train-marks", "--config", str(config))
    assert result.returncode == 2 and "model.hidden" in result.stderr and "Traceback" not in result.stderr
