"""Digits that touch: the row reader's rows and strips, `digits train-rows`, and `digits read` on real
pictures of touching pairs and triples, an overlap across a separator, and a runner-up number."""

from __future__ import annotations

import json
from itertools import pairwise

import numpy as np
from PIL import Image

from conftest import run_digits
from digits.learn.mark_rows import separator
from digits.learn.row_reader import touching_row
from digits.read.row_reader import ABOVE, PAD, ROW_CHARACTERS, ROW_PX, STRIP_HEIGHT, strip

HEIGHT = 56  # px: the digits' height on the test pages


def glyph(pixels: np.ndarray) -> np.ndarray:
    """An MNIST digit cropped to its ink and written HEIGHT px tall, 0–1."""
    rows, columns = np.flatnonzero(pixels.max(axis=1)), np.flatnonzero(pixels.max(axis=0))
    crop = Image.fromarray(pixels[rows[0] : rows[-1] + 1, columns[0] : columns[-1] + 1])
    width = max(1, round(crop.width * HEIGHT / crop.height))
    return np.asarray(crop.resize((width, HEIGHT), Image.Resampling.BICUBIC), np.float32) / 255


def written(glyphs: list[np.ndarray], overlap: float, bottoms: list[int] | None = None) -> Image.Image:
    """Glyphs (0–1) side by side on white paper, each starting `overlap` of the one before's width
    before it ends, their bottoms on a common baseline (or `bottoms` px above it)."""
    bottoms = bottoms or [0] * len(glyphs)
    width = 40 + sum(g.shape[1] for g in glyphs)
    page = np.zeros((2 * HEIGHT, width), np.float32)
    left = 20
    for g, up in zip(glyphs, bottoms, strict=True):
        bottom = HEIGHT + HEIGHT // 2 - up
        region = page[bottom - g.shape[0] : bottom, left : left + g.shape[1]]
        np.maximum(region, g, out=region)
        left += round(g.shape[1] * (1 - overlap))
    return Image.fromarray(np.round(255 * (1 - np.clip(page, 0, 1))).astype(np.uint8))


def read_all(paths: list) -> list[dict]:
    """`digits read --json` of the files, one reading each, in order."""
    result = run_digits("read", *map(str, paths), "--json")
    assert result.returncode in (0, 1) and "Traceback" not in result.stderr, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_rows_are_drawn_the_same_for_a_seed_and_written_in_the_reader_s_characters(test_split):
    first = [touching_row(np.random.default_rng(5), test_split.images, test_split.labels) for _ in range(2)]
    np.testing.assert_array_equal(first[0][0], first[1][0])
    rng = np.random.default_rng(6)
    rows = [touching_row(rng, test_split.images, test_split.labels) for _ in range(60)]
    assert all(s.shape[0] == STRIP_HEIGHT and s.dtype == np.float32 and 0 <= s.min() <= s.max() <= 1 for s, _ in rows)
    assert all(text and set(text) <= set(ROW_CHARACTERS) for _, text in rows)
    assert any("/" in text for _, text in rows) and any(text.isdigit() for _, text in rows)


def test_a_strip_sets_the_row_s_lines_at_its_own_height():
    """Whatever its size, a piece's row is ROW_PX high in its strip, from ABOVE px down."""
    ink = np.zeros((300, 90), np.float32)
    ink[100:220, 10:80] = 255  # a row 120 px high, from its top line at 100 to its baseline at 220
    framed = strip(ink, 100.0, 220.0)
    rows = np.flatnonzero(framed.max(axis=1) > 0.5)
    assert framed.shape[0] == STRIP_HEIGHT and rows[0] == ABOVE and rows[-1] == ABOVE + ROW_PX - 1
    assert framed.shape[1] == round(90 * ROW_PX / 120) + 2 * PAD  # its width at the same scale, paper each side


def test_touching_pairs_and_triples_read_as_their_digits(tmp_path, test_split):
    """Digits each starting a fifth of a digit before the one before ends make one piece of ink,
    which the digit model calls no digit; `read` reads the digits in it, each with its box."""
    rng = np.random.default_rng(38)
    paths, truths = [], []
    for i in range(12):
        chosen = rng.choice(len(test_split.labels), 2 + i % 2, replace=False)
        paths.append(tmp_path / f"touching-{i}.png")
        written([glyph(test_split.images[k]) for k in chosen], overlap=0.2).save(paths[-1])
        truths.append("".join(str(test_split.labels[k]) for k in chosen))
    answers = read_all(paths)
    right = [answer for answer, truth in zip(answers, truths, strict=True) if answer["number"] == truth]
    # before the row reader none was read (the piece is no digit); it reads 7 of these 12, and about
    # two in three such numbers in benchmarks/touching.py: short of the goal of 90%
    assert len(right) >= 6, f"{len(right)} of 12 touching numbers read exactly"
    for answer in right:
        boxes = [mark["box"] for mark in answer["digits"]]
        assert [b[0] for b in boxes] == sorted(b[0] for b in boxes)  # left to right; they may overlap
        assert all(0 < mark["confidence"] <= 1 and mark["kind"] == "digit" for mark in answer["digits"])
    assert any(a["box"][2] > b["box"][0] for answer in right for a, b in pairwise(answer["digits"]))


def test_an_overlap_across_a_separator_keeps_the_separator(tmp_path, test_split):
    """A date whose slash touches the digits either side reads with its slash."""
    labels = test_split.labels
    picks = [int(np.flatnonzero(labels == d)[0]) for d in (1, 2, 0, 3)]
    mark, _, _ = separator(np.random.default_rng(1), "/", HEIGHT, pen=HEIGHT * 0.11)
    glyphs = [glyph(test_split.images[k]) for k in picks]
    path = tmp_path / "date.png"
    written([glyphs[0], glyphs[1], mark, glyphs[2], glyphs[3]], overlap=0.15).save(path)
    answer = read_all([path])[0]
    assert answer["number"] == "12/03"
    assert len(answer["digits"]) == 5 and answer["digits"][2]["kind"] == "separator"


def test_an_unsure_digit_names_the_runner_up_number(tmp_path, test_split):
    """A digit blended from a 3 and an 8 reads as one of them, unsure where the blend is even; `read`
    names the number the other answer makes, "13 (or 18)", and no runner-up where all is sure."""
    labels, images = test_split.labels, test_split.images
    one = glyph(images[int(np.flatnonzero(labels == 1)[0])])
    three, eight = (images[int(np.flatnonzero(labels == d)[3])].astype(np.float32) for d in (3, 8))
    paths = []
    for share in np.linspace(0.2, 0.8, 7):  # of the 8
        blend = glyph(np.round((1 - share) * three + share * eight).astype(np.uint8))
        paths.append(tmp_path / f"blend-{share:.1f}.png")
        written([one, blend], overlap=-0.6).save(paths[-1])  # apart: a gap of 0.6 of the 1's width
    answers = read_all(paths)
    named = [answer for answer in answers if answer["runner_up"]]
    assert named, [answer["number"] for answer in answers]
    for answer in answers:
        unsure = any(mark["unsure"] for mark in answer["digits"])
        assert unsure or answer["runner_up"] is None  # a number whose digits are all sure has none
    for answer in named:
        number, runner_up = answer["number"], answer["runner_up"]
        assert len(number) == len(runner_up) and sum(a != b for a, b in zip(number, runner_up, strict=True)) == 1
    printed = run_digits("read", str(paths[answers.index(named[0])])).stdout
    assert f"{named[0]['number']} (or {named[0]['runner_up']})" in printed


def test_train_rows_reports_each_epoch_and_its_weights_are_read(tmp_path, test_split):
    config = tmp_path / "rows.toml"
    config.write_text(
        '[rows]\nsource = "sample"\ncount = 64\nval_count = 16\n'
        "[model]\nwindow_units = 16\nneighbour_units = 8\n[train]\nepochs = 2\n"
    )
    output = tmp_path / "rows.safetensors"
    result = run_digits("train-rows", "--config", str(config), "--output", str(output))
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines() if line.strip()[:1].isdigit()]
    assert [row[0] for row in rows] == ["1", "2"]
    assert all(float(row[1]) > 0 and float(row[2]) > 0 for row in rows)  # training and validation loss
    assert "rows" in result.stdout and "DIGITS_ROW_READER" in result.stdout

    labels = test_split.labels
    path = tmp_path / "pair.png"
    written([glyph(test_split.images[int(np.flatnonzero(labels == d)[0])]) for d in (4, 7)], overlap=0.25).save(path)
    env = {"DIGITS_ROW_READER": str(output)}
    read = run_digits("read", str(path), "--json", env=env)
    assert "Traceback" not in read.stderr and json.loads(read.stdout)["digits"]

    output.write_bytes(b"not weights")
    broken = run_digits("read", str(path), env=env)
    assert broken.returncode != 0 and "Traceback" not in broken.stderr
    assert str(output) in broken.stderr and "row reader" in broken.stderr


def test_train_rows_refuses_a_bad_config_in_one_line(tmp_path):
    config = tmp_path / "rows.toml"
    config.write_text("[model]\nneighbours = 4\n")
    result = run_digits("train-rows", "--config", str(config))
    assert result.returncode == 2 and "model.neighbours" in result.stderr and "Traceback" not in result.stderr
