"""The page reader on real image files of the kinds people send, drawn here (not by the benchmark's
renderers): printed lines turned off level, a sheet or a note lying turned on a table, a fax, a
dark-mode app, a whiteboard. Each kind is read written on and blank."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from digits.read.checkpoint import SHIPPED_MODEL, load_model_file
from digits.read.forward import probabilities
from digits.read.marks import NoDigitFound
from digits.read.number import read_digit_image
from digits.read.reader import load_model as load_reader

SIDE = 360  # px, the pictures' size


def _lined(kind: str, angle: float) -> np.ndarray:
    """Paper with printed lines (ruled, squared, a form's box or an underline), as 0–1 ink, turned."""
    lines = Image.new("L", (SIDE * 2, SIDE * 2), 0)
    draw = ImageDraw.Draw(lines)
    if kind in ("ruled", "squared"):
        for y in range(10, SIDE * 2, 34):
            draw.line([(0, y), (SIDE * 2, y)], fill=150, width=2)
    if kind == "squared":
        for x in range(10, SIDE * 2, 34):
            draw.line([(x, 0), (x, SIDE * 2)], fill=150, width=2)
    if kind == "box":
        draw.rectangle([SIDE // 2 + 30, SIDE // 2 + 40, SIDE * 3 // 2 - 30, SIDE * 3 // 2 - 20], outline=255, width=3)
    if kind == "underline":
        draw.line([(SIDE // 2 + 40, SIDE * 3 // 2 - 40), (SIDE * 3 // 2 - 40, SIDE * 3 // 2 - 40)], fill=255, width=3)
    turned = lines.rotate(angle, Image.Resampling.BICUBIC)
    return np.asarray(turned.crop((SIDE // 2, SIDE // 2, SIDE * 3 // 2, SIDE * 3 // 2)), dtype=np.float64) / 255


def _digit(image: np.ndarray, size: int) -> np.ndarray:
    return np.asarray(Image.fromarray(image).resize((size, size), Image.Resampling.BICUBIC), dtype=np.float64) / 255


def _on_lines(kind: str, angle: float, image: np.ndarray | None) -> Image.Image:
    paper = np.full((SIDE, SIDE), 238.0)
    paper -= 150 * _lined(kind, angle)
    if image is not None:
        ink = np.zeros((SIDE, SIDE))
        ink[110:290, 100:280] = _digit(image, 180)
        paper = paper * (1 - ink) + 40 * ink
    return Image.fromarray(np.clip(paper, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(0.7))


def _in_a_small_box(angle: float, image: np.ndarray | None) -> Image.Image:
    """A form's small box, its lines as thick as the pen's strokes, round a digit that fills it,
    turned: each side shorter than a digit's longest stroke, too thick to tell from one."""
    paper = Image.new("L", (SIDE, SIDE), 238)
    ImageDraw.Draw(paper).rectangle([125, 95, 245, 265], outline=40, width=7)
    if image is not None:
        ink = np.zeros((SIDE, SIDE))
        ink[120:240, 125:245] = _digit(image, 120)
        paper = Image.fromarray((np.asarray(paper) * (1 - ink) + 40 * ink).astype(np.uint8))
    return paper.rotate(angle, Image.Resampling.BICUBIC, fillcolor=238).filter(ImageFilter.GaussianBlur(0.7))


def _on_a_scanner(image: np.ndarray | None) -> Image.Image:
    """Fine squared paper, a little grey, its sheet turned 4° on a scanner's white bed: the white at
    its corners stands out of the paper more than its lines do."""
    paper = np.full((SIDE, SIDE), 222.0) - 14 * _lined("squared", 0)
    if image is not None:
        ink = np.zeros((SIDE, SIDE))
        ink[110:290, 100:280] = _digit(image, 180)
        paper = paper * (1 - ink) + 40 * ink
    sheet = Image.fromarray(paper.astype(np.uint8)).rotate(4, Image.Resampling.BICUBIC, expand=True, fillcolor=255)
    return sheet.crop((10, 10, sheet.width - 10, sheet.height - 10)).filter(ImageFilter.GaussianBlur(0.7))


def _on_a_table(kind: str, angle: float, image: np.ndarray | None) -> Image.Image:
    """A sheet (light, on a dark table) or a note (darker than a light table), turned, photographed."""
    page_level, table_level = (235, 60) if kind == "sheet" else (175, 215)
    sheet = np.full((300, 240), float(page_level))
    if image is not None:
        ink = np.zeros(sheet.shape)
        ink[70:230, 40:200] = _digit(image, 160)
        sheet = sheet * (1 - ink) + 30 * ink
    turned = Image.fromarray(sheet.astype(np.uint8)).rotate(angle, Image.Resampling.BICUBIC, expand=True, fillcolor=0)
    mask = Image.new("L", (300, 240)[::-1], 255).rotate(angle, Image.Resampling.BICUBIC, expand=True)
    grain = np.random.default_rng(1).normal(0, 6, (SIDE + 120, SIDE + 120)).cumsum(axis=1) / 8
    photo = Image.fromarray(np.clip(table_level + grain, 0, 255).astype(np.uint8))
    photo.paste(turned, ((photo.width - turned.width) // 2, (photo.height - turned.height) // 2), mask)
    return photo.filter(ImageFilter.GaussianBlur(0.8))


def _scanned(kind: str, image: np.ndarray | None) -> Image.Image:
    """A fax (bilevel, specks, the lid's black band), a dark-mode app (light brush on near-black, a
    toolbar) or a whiteboard (ghosts of wiped writing, its frame along a side)."""
    rng = np.random.default_rng(2)
    ink = np.zeros((SIDE, SIDE))
    if image is not None:
        ink[80:280, 90:290] = _digit(image, 200)
    if kind == "fax":
        page = np.where(ink > 0.5, 0, 255).astype(np.uint8)
        page[rng.random(page.shape) < 0.003] = 0
        page[-20:] = 0
        return Image.fromarray(page).convert("1")
    if kind == "dark app":
        page = np.full((SIDE, SIDE), 30.0)
        page[:36] = 75
        return Image.fromarray((page * (1 - ink) + 245 * ink).astype(np.uint8))
    ghosts = Image.new("L", (SIDE, SIDE), 0)
    for _ in range(4):
        ImageDraw.Draw(ghosts).line([tuple(p) for p in rng.random((3, 2)) * SIDE], fill=255, width=7)
    page = 222 - 16 * np.asarray(ghosts.filter(ImageFilter.GaussianBlur(3)), dtype=np.float64) / 255
    page[:, :18] = 120
    return Image.fromarray((page * (1 - ink) + 50 * ink).astype(np.uint8)).filter(ImageFilter.GaussianBlur(0.8))


KINDS = {
    **{
        f"{kind} turned {angle}°": (lambda image, k=kind, a=angle: _on_lines(k, a, image))
        for kind in ("ruled", "squared", "box", "underline")
        for angle in (0, 3, -8)
    },
    **{
        f"{kind} on a table turned {angle}°": (lambda image, k=kind, a=angle: _on_a_table(k, a, image))
        for kind in ("sheet", "note")
        for angle in (12, -25)
    },
    **{kind: (lambda image, k=kind: _scanned(k, image)) for kind in ("fax", "dark app", "whiteboard")},
    "squared sheet turned on a scanner": _on_a_scanner,
    **{f"small box turned {angle}°": (lambda image, a=angle: _in_a_small_box(a, image)) for angle in (0, 3)},
}


@pytest.fixture(scope="module")
def model():
    return load_model_file(SHIPPED_MODEL)


# Blank pages on which the ink finder still finds a mark to read (issue 33's closing note): a piece of
# a printed line, a box's corner or a sheet's edge, unsure at the working size, clear when looked at closer
FRAGMENT_READ = "the finder reads a piece of a printed line or a sheet's edge as a stroke"
FRAGMENTS = {
    "box turned 3°",
    "box turned -8°",
    "underline turned 0°",
    "underline turned 3°",
    "underline turned -8°",
    "sheet on a table turned -25°",
    "small box turned 0°",
    "small box turned 3°",
}


@pytest.mark.parametrize(
    "kind",
    [
        pytest.param(k, marks=pytest.mark.xfail(strict=True, reason=FRAGMENT_READ)) if k in FRAGMENTS else k
        for k in KINDS
    ],
)
def test_each_kind_s_blank_page_is_blank(kind, tmp_path):
    blank = tmp_path / "blank.jpg"
    KINDS[kind](None).convert("L").save(blank, quality=90)
    with pytest.raises(NoDigitFound):
        read_digit_image(blank)


@pytest.mark.parametrize(
    "kind",
    [
        pytest.param(k, marks=pytest.mark.xfail(strict=True, reason="the box's thick sides join the digit: 2 of 10"))
        if k == "small box turned 0°"
        else k
        for k in KINDS
    ],
)
def test_each_kind_is_read(kind, model, tmp_path, test_split):
    draw = KINDS[kind]
    right = 0
    for label in range(10):
        index = int(np.flatnonzero(test_split.labels == label)[1])
        path = tmp_path / f"{label}.png"
        draw(test_split.images[index]).save(path)
        right += int(probabilities(model, read_digit_image(path)[None])[0].argmax() == label)
    assert right >= 9, f"{kind}: {right} of 10"


def test_a_number_s_boxes_are_in_the_picture_s_pixels_when_its_page_is_turned(tmp_path, test_split):
    """`read` finds the digits on a sheet turned on a table; their boxes land on them in the photo."""
    digits = [test_split.images[int(np.flatnonzero(test_split.labels == label)[0])] for label in (3, 7)]
    sheet = np.full((300, 420), 235.0)
    for i, image in enumerate(digits):
        ink = _digit(image, 120)
        sheet[90:210, 80 + 140 * i : 200 + 140 * i] = sheet[90:210, 80 + 140 * i : 200 + 140 * i] * (1 - ink) + 30 * ink
    turned = Image.fromarray(sheet.astype(np.uint8)).rotate(15, Image.Resampling.BICUBIC, expand=True, fillcolor=110)
    photo = Image.new("L", (turned.width + 100, turned.height + 100), 110)
    photo.paste(turned, (50, 50))
    path = tmp_path / "number.png"
    photo.save(path)
    reading = load_reader(SHIPPED_MODEL).read(path)
    assert reading.number == "37"
    dark = np.asarray(photo) < 80  # the ink (30); the table is 110
    for digit in (mark for mark in reading.digits if mark.kind == "digit"):
        left, top, right, bottom = digit.box
        assert dark[top:bottom, left:right].mean() > 0.05  # the box holds the digit's ink


@pytest.mark.parametrize(
    "angle",
    [pytest.param(0, marks=pytest.mark.xfail(strict=True, reason="the finder keeps the level rule between the 1s")), 4],
)
def test_a_number_written_close_along_a_rule_is_read_digit_by_digit(tmp_path, angle):
    """1s drawn as straight strokes 7 px apart (8% of their height), ruled lines through them: a
    rule is taken out between them too, so it does not join them into one mark."""
    page = np.full((220, 200), 238.0) - 150 * _ruled_rows((220, 200), 58)
    for left in range(60, 140, 17):  # strokes 10 px wide, 7 px apart
        page[70:160, left : left + 10] = 40
    picture = Image.fromarray(page.astype(np.uint8)).rotate(angle, Image.Resampling.BICUBIC, fillcolor=238)
    path = tmp_path / "number.jpg"
    picture.filter(ImageFilter.GaussianBlur(0.8)).save(path, quality=90)
    assert load_reader(SHIPPED_MODEL).read(path).number == "11111"


def _ruled_rows(shape: tuple[int, int], spacing: int) -> np.ndarray:
    """Level rules, 2 px, `spacing` apart, as 0–1 ink."""
    rules = np.zeros(shape)
    for y in range(25, shape[0], spacing):
        rules[y : y + 2] = 1
    return rules
