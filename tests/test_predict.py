"""`digits predict` on a person's images: files, directories, bad files, blank pages."""

from __future__ import annotations

import json

from PIL import Image

from conftest import ink_on_paper, run_digits


def _drawings(tmp_path, test_split, count: int = 20):
    paths = []
    for i in range(count):
        path = tmp_path / f"digit{i:02d}_is_{test_split.labels[i]}.png"
        ink_on_paper(test_split.images[i]).save(path)
        paths.append(path)
    return paths


def test_predict_reads_drawings_of_held_out_digits(trained, tmp_path, test_split):
    paths = _drawings(tmp_path, test_split)
    result = run_digits("predict", *map(str, paths), "--checkpoint", str(trained), "--json")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["path"] for line in lines] == [str(p) for p in paths]
    correct = sum(line["digit"] == label for line, label in zip(lines, test_split.labels, strict=False))
    assert correct >= 16  # of 20
    assert all(0 < line["confidence"] <= 1 for line in lines)


def test_directory_and_top_k(trained, tmp_path, test_split):
    _drawings(tmp_path, test_split, 3)
    result = run_digits("predict", str(tmp_path), "--checkpoint", str(trained), "--top-k", "3", "--json")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 3
    for line in lines:
        top = line["top_k"]
        assert len(top) == 3 and top[0]["digit"] == line["digit"]
        assert top[0]["probability"] >= top[1]["probability"] >= top[2]["probability"]
        assert sum(t["probability"] for t in top) <= 1 + 1e-6


def test_bad_file_is_reported_and_the_others_still_served(trained, tmp_path, test_split):
    good = _drawings(tmp_path, test_split, 2)
    bad = tmp_path / "notes.png"
    bad.write_text("this is not an image")
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    result = run_digits("predict", str(good[0]), str(bad), str(empty), str(good[1]), "--checkpoint", str(trained))
    assert result.returncode == 1
    assert [line.split(":")[0] for line in result.stdout.splitlines()] == [str(good[0]), str(good[1])]
    assert result.stderr.splitlines() == [
        f"Reading with {trained}",
        f"error: {bad}: not a picture digits can read (PNG, JPEG, GIF, BMP, TIFF, WebP…)",
        f"error: {empty}: empty file (0 bytes)",
    ]


def test_blank_page_gives_no_digit(trained, tmp_path):
    blank = tmp_path / "blank.png"
    Image.new("L", (120, 90), 255).save(blank)
    result = run_digits("predict", str(blank), "--checkpoint", str(trained), "--json")
    assert result.returncode == 0
    line = json.loads(result.stdout)
    assert line["digit"] is None and "no digit found" in line["error"]


def test_missing_file_is_reported(trained, tmp_path):
    result = run_digits("predict", str(tmp_path / "gone.png"), "--checkpoint", str(trained))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [f"Reading with {trained}", f"error: {tmp_path / 'gone.png'}: file not found"]
