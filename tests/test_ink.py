"""The ink finder: pages drawn at random with the handwriting's mask known, the finder shipped with
digits reading them as real files, its numpy forward pass against torch's, and `digits train-ink`."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from conftest import run_digits
from digits.learn.ink_pages import FACTOR_GROUPS, draw_page, draw_pages
from digits.read.ink import ink_probability, load_finder


def test_pages_are_drawn_the_same_for_a_seed_and_their_mask_is_the_writing(test_split):
    first, masks = draw_pages(6, 3, test_split.images[:50], 96)
    again, _ = draw_pages(6, 3, test_split.images[:50], 96)
    np.testing.assert_array_equal(first, again)
    assert first.shape == (6, 96, 96, 3) and masks.shape == (6, 96, 96)
    written = [m for m in masks if m.max() > 0]
    assert written, "some pages hold writing"
    for mask in written:
        assert 0 < (mask > 127).mean() < 0.6  # a mask is strokes, not the page


def test_pages_left_without_colour_are_grey(test_split):
    """The leave-one-out measure's colour group: pages drawn without it hold no colour."""
    rng = np.random.default_rng(0)
    page, _ = draw_page(rng, test_split.images[:1], 96, off=frozenset(["colour"]), blank=False)
    spread = np.ptp(page.astype(int), axis=2)
    assert spread.max() <= 20  # JPEG's colour noise at most
    rng = np.random.default_rng(0)
    plain, _ = draw_page(rng, test_split.images[:1], 96, off=frozenset(FACTOR_GROUPS), blank=False)
    assert np.ptp(plain.astype(int), axis=2).max() <= 20


def _written_pages(tmp_path, test_split, count: int, seed: int) -> list[tuple[str, int | None]]:
    """Pages from the generator, a fifth blank, each holding one official test digit, saved as files."""
    rng = np.random.default_rng(seed)
    pages = []
    for i in range(count):
        blank = i % 5 == 4
        page, _ = draw_page(rng, test_split.images[i : i + 1], int(rng.integers(224, 400)), blank=blank)
        path = tmp_path / f"page-{i}.{'png' if i % 3 == 0 else 'jpg'}"
        Image.fromarray(page).save(path, quality=90)
        pages.append((str(path), None if blank else int(test_split.labels[i])))
    return pages


def test_the_generator_s_pages_are_read_and_its_blank_pages_are_blank(tmp_path, test_split):
    """The generator's pages (seed 11, not a training seed) are cluttered on purpose: print, lines,
    shapes, shadows, all at once. The shipped finder reads 23 of these 32 (the floor is one under it),
    and finds a stroke on 5 of the 8 blank ones: its known weakness (issue 33's closing note)."""
    pages = _written_pages(tmp_path, test_split, 40, seed=11)
    result = run_digits("predict", "--json", *[path for path, _ in pages])
    readings = [json.loads(line) for line in result.stdout.splitlines()]
    right = sum(r["digit"] == label for r, (_, label) in zip(readings, pages, strict=True) if label is not None)
    blanks_read = sum(r["digit"] is not None for r, (_, label) in zip(readings, pages, strict=True) if label is None)
    assert right >= 22, f"{right} of 32 written pages read right"
    assert blanks_read <= 5, f"{blanks_read} of 8 blank pages read as a digit"


def test_only_hue_tells_the_handwriting_from_the_print(tmp_path, test_split):
    """A form printed in red, its text and rules as dark as the blue pen's digit in grey: in grey
    levels they are alike; the finder, given colour, takes the print for paper."""
    index = 7  # a 9
    page = Image.new("RGB", (360, 300), (245, 243, 238))
    draw = ImageDraw.Draw(page)
    red, blue = (214, 40, 40), (40, 60, 200)
    for y in range(30, 300, 40):
        draw.line([(0, y), (360, y)], fill=red, width=2)
    font = ImageFont.load_default(28)
    draw.text((16, 40), "No. 4711  Total 8", fill=red, font=font)
    ink = Image.fromarray(test_split.images[index]).resize((150, 150), Image.Resampling.BICUBIC)
    page.paste(Image.new("RGB", (150, 150), blue), (140, 110), ink)
    grey = np.asarray(page.convert("L")).astype(int)
    assert abs(grey[grey < 120].mean() - np.asarray(Image.new("RGB", (1, 1), red).convert("L"))[0, 0]) < 40
    path = tmp_path / "form.png"
    page.save(path)
    reading = json.loads(run_digits("predict", "--json", str(path)).stdout)
    assert reading["digit"] == test_split.labels[index]


def test_the_numpy_finder_is_torch_s_network(test_split):
    """The shipped weights, run in numpy as the reader runs them and in torch as they were trained."""
    torch = pytest.importorskip("torch")
    from digits.learn.ink_finder import InkFinder

    finder = load_finder()
    widths = [finder.tensors[f"{name}.weight"].shape[0] for name in ("full", "half1", "quarter1")]
    network = InkFinder(widths).eval()
    with torch.no_grad():  # the folded weights into the network, its batch norms left as they start: none
        for name, layer in network.layers.items():
            conv = layer if name == "out" else layer[0]
            conv.weight.copy_(torch.from_numpy(finder.tensors[f"{name}.weight"]))
            if name == "out":
                conv.bias.copy_(torch.from_numpy(finder.tensors["out.bias"]))
            else:
                layer[1].bias.copy_(torch.from_numpy(finder.tensors[f"{name}.bias"]))
                layer[1].running_var.fill_(1 - layer[1].eps)
    page, _ = draw_page(np.random.default_rng(1), test_split.images[:1], 96, blank=False)
    from digits.read.ink import normalized

    x = torch.from_numpy(normalized(page)).permute(2, 0, 1)[None]
    with torch.no_grad():
        expected = torch.sigmoid(network(x))[0, 0].numpy()
    np.testing.assert_allclose(ink_probability(page), expected, atol=1e-4)


def test_train_ink_reports_each_epoch_and_its_weights_read(tmp_path):
    config = tmp_path / "ink.toml"
    config.write_text(
        '[pages]\nsource = "sample"\ncount = 48\nval_count = 16\nsize = 64\noff = ["texture"]\n'
        "[model]\nwidths = [4, 8, 8]\n[train]\nepochs = 2\n"
    )
    output = tmp_path / "finder.safetensors"
    result = run_digits("train-ink", "--config", str(config), "--output", str(output))
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines() if line.strip()[:1].isdigit()]
    assert [row[0] for row in rows] == ["1", "2"]
    assert all(float(row[1]) > 0 and float(row[2]) > 0 for row in rows)  # training and validation loss
    from safetensors import safe_open

    with safe_open(str(output), "numpy") as f:
        metadata = f.metadata()
    assert 'off = ["texture"]' in metadata["config"] and metadata["seed"] == "0"
    bad = run_digits("train-ink", "--config", str(config), "--off", "glitter", "--output", str(output))
    assert bad.returncode == 2 and "glitter" in bad.stderr and "Traceback" not in bad.stderr
