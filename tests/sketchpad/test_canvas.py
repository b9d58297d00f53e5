"""Canvas: every operation checked pixel by pixel, coordinate maps, JSON replay."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from perception.errors import ImageError
from sketchpad import PALETTE, Canvas, side_by_side
from sketchpad.ops import MarksOp
from sketchpad.palette import text_color_on

GREY = 100


def grey(width: int = 120, height: int = 90, value: int = GREY) -> np.ndarray:
    return np.full((height, width, 3), value, dtype=np.uint8)


def noise(width: int = 120, height: int = 90, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def changed(before: Canvas | np.ndarray, after: Canvas) -> np.ndarray:
    base = before.render() if isinstance(before, Canvas) else before
    return (after.render() != base).any(axis=2)


def rect_mask(shape: tuple[int, int], x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
    """True on columns x0..x1-1 and rows y0..y1-1."""
    mask = np.zeros(shape, dtype=bool)
    mask[y0:y1, x0:x1] = True
    return mask


# --- drawing operations ------------------------------------------------------------


def test_box_outline_is_exactly_the_ring_inside_the_box():
    canvas = Canvas(grey())
    drawn = canvas.box((10, 20, 50, 60), color="red", width=2)
    ring = rect_mask((90, 120), 10, 20, 50, 60) & ~rect_mask((90, 120), 12, 22, 48, 58)
    assert np.array_equal(changed(canvas, drawn), ring)
    assert (drawn.render()[ring] == PALETTE["red"]).all()


def test_box_covering_the_whole_image_shows_all_four_edges():
    canvas = Canvas(grey(40, 30))
    drawn = canvas.box((0, 0, 40, 30), color="green", width=1)
    border = rect_mask((30, 40), 0, 0, 40, 30) & ~rect_mask((30, 40), 1, 1, 39, 29)
    assert np.array_equal(changed(canvas, drawn), border)


def test_box_label_sits_on_a_filled_tag_above_the_box():
    canvas = Canvas(grey(200, 150))
    drawn = canvas.box((60, 80, 140, 130), label="cat", color="yellow", width=1)
    diff = changed(canvas, drawn)
    ring = rect_mask(diff.shape, 60, 80, 140, 130) & ~rect_mask(diff.shape, 61, 81, 139, 129)
    tag = diff & ~ring
    ys, xs = np.nonzero(tag)
    assert ys.max() < 80 and xs.min() == 60  # above the box, starting at its left edge
    pixels = drawn.render()[tag]
    assert (pixels == PALETTE["yellow"]).all(axis=1).sum() > 0.35 * len(pixels)  # filled with the box colour
    assert (pixels == (0, 0, 0)).all(axis=1).any()  # dark text on a light tag


def test_box_label_moves_inside_when_there_is_no_room_above():
    canvas = Canvas(grey(200, 150))
    drawn = canvas.box((60, 0, 140, 100), label="cat", color="red", width=1)
    ys, _ = np.nonzero(changed(canvas, drawn) & rect_mask((150, 200), 61, 1, 139, 99))
    assert len(ys) > 0 and ys.min() == 1  # the tag hangs from the top edge, inside


def test_normalized_coordinates_are_fractions_of_the_size():
    canvas = Canvas(grey(200, 100))
    assert np.array_equal(
        canvas.box((0.1, 0.2, 0.5, 0.9), normalized=True, color="red").render(),
        canvas.box((20, 20, 100, 90), color="red").render(),
    )


def test_horizontal_and_vertical_lines_cover_exactly_their_pixels():
    canvas = Canvas(grey())
    horizontal = canvas.line((10, 30), (60, 30), color="blue", width=1)
    assert np.array_equal(changed(canvas, horizontal), rect_mask((90, 120), 10, 30, 61, 31))
    vertical = canvas.line((5, 10), (5, 80), color="blue", width=1)
    assert np.array_equal(changed(canvas, vertical), rect_mask((90, 120), 5, 10, 6, 81))
    assert (vertical.render()[10:81, 5] == PALETTE["blue"]).all()


def test_diagonal_line_pixels_lie_on_the_segment():
    canvas = Canvas(grey())
    drawn = canvas.line((10, 10), (70, 70), color="blue", width=1)
    ys, xs = np.nonzero(changed(canvas, drawn))
    assert np.array_equal(xs, ys) and xs.min() == 10 and xs.max() == 70 and len(xs) == 61


def test_arrow_has_a_head_at_its_end_and_stays_near_its_segment():
    canvas = Canvas(grey(200, 100))
    drawn = canvas.arrow((20, 50), (180, 50), color="red", width=2)
    diff = changed(canvas, drawn)
    columns = diff.sum(axis=0)
    assert columns[20:150].max() <= 3  # the shaft is as wide as the line
    assert columns[165:180].max() >= 8  # the head is wider, at the end
    assert not diff[:, :20].any() and not diff[:, 182:].any()
    ys, _ = np.nonzero(diff)
    assert abs(ys.mean() - 50) < 1.5


def test_marks_are_numbered_discs_and_numbering_goes_on():
    canvas = Canvas(grey(200, 100)).mark([(30, 50), (100, 50)], color="yellow", radius=12)
    canvas = canvas.mark([(170, 50)], color="yellow", radius=12)
    assert [(op.start, len(op.points)) for op in canvas.ops] == [(1, 2), (3, 1)]
    image = canvas.render()
    diff = (image != GREY).any(axis=2)
    yy, xx = np.mgrid[:100, :200]
    near = np.zeros_like(diff)
    for x in (30, 100, 170):
        near |= (xx - x) ** 2 + (yy - 50) ** 2 <= 13**2
    assert not (diff & ~near).any()
    for x in (30, 100, 170):
        disc = image[38:63, x - 12 : x + 13]
        assert (disc == PALETTE["yellow"]).all(axis=2).sum() > 200
        assert (disc == text_color_on(PALETTE["yellow"])).all(axis=2).sum() > 10  # the number's ink
    digits = [image[42:59, x - 6 : x + 7] for x in (30, 100, 170)]
    assert not np.array_equal(digits[0], digits[1]) and not np.array_equal(digits[1], digits[2])


def test_the_same_number_renders_the_same_wherever_it_is():
    one = Canvas(grey(100, 100)).mark([(30, 30)], color="red", radius=10).render()
    other = Canvas(grey(100, 100)).mark([(70, 60)], color="red", radius=10).render()
    assert np.array_equal(one[20:41, 20:41], other[50:71, 60:81])


def test_polygon_outline_and_translucent_fill():
    canvas = Canvas(grey(100, 100))
    outline = canvas.polygon([(10, 10), (90, 10), (50, 90)], color="green", width=1)
    diff = changed(canvas, outline)
    assert diff[10, 10:91].all() and not diff[50, 50]  # the top edge, and a hollow inside
    filled = canvas.polygon([(10, 10), (90, 10), (50, 90)], color="green", width=1, fill_alpha=0.5)
    expected = np.rint(0.5 * GREY + 0.5 * np.array(PALETTE["green"], dtype=float))
    assert (filled.render()[40, 50] == expected).all()
    assert (filled.render()[80, 10] == GREY).all()


def test_mask_blends_exactly_as_specified():
    image = noise(64, 48, seed=3)
    mask = np.random.default_rng(4).random((48, 64)) < 0.3
    alpha, color = 0.37, (10, 200, 30)
    out = Canvas(image).mask(mask, color=color, alpha=alpha).render()
    expected = image.copy()
    blended = (1 - alpha) * image.astype(np.float64) + alpha * np.array(color, dtype=np.float64)
    expected[mask] = np.rint(blended[mask]).astype(np.uint8)
    assert np.array_equal(out, expected)


def test_mask_must_match_the_canvas_and_alpha_be_an_opacity():
    canvas = Canvas(grey(64, 48))
    with pytest.raises(ValueError, match="mask is"):
        canvas.mask(np.ones((48, 63), dtype=bool))
    with pytest.raises(ValueError, match="opacity"):
        canvas.mask(np.ones((48, 64), dtype=bool), alpha=1.5)


@pytest.mark.parametrize("background", [0, 255])
@pytest.mark.parametrize("color", ["white", "black", "yellow", "navy"])
def test_labels_stay_legible_on_any_background(background: int, color: str):
    on_grey = Canvas(grey(160, 60))
    ys, xs = np.nonzero(changed(on_grey, on_grey.label((20, 20), "Exit 12", color=color)))  # where the tag is
    drawn = Canvas(grey(160, 60, value=background)).label((20, 20), "Exit 12", color=color)
    ink = text_color_on(PALETTE[color])
    assert ink != PALETTE[color]
    pixels = drawn.render()[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    # the tag's outline is the ink colour, so the tag stands out even on its own fill colour
    assert (pixels[0] == ink).all() and (pixels[-1] == ink).all()
    assert (pixels[:, 0] == ink).all() and (pixels[:, -1] == ink).all()
    inner = pixels[1:-1, 1:-1].astype(int)
    to_ink = np.abs(inner - ink).sum(axis=2)
    to_fill = np.abs(inner - PALETTE[color]).sum(axis=2)
    assert (to_fill == 0).mean() > 0.5  # mostly fill...
    assert (to_ink < 150).sum() > 20  # ...with text in the ink colour (anti-aliased)


def test_a_label_near_the_edge_is_moved_inside_the_image():
    canvas = Canvas(grey(100, 40))
    drawn = canvas.label((95, 35), "far right")
    ys, xs = np.nonzero(changed(canvas, drawn))
    assert xs.max() == 99 and ys.max() == 39 and xs.min() < 95


def test_grid_lines_and_cell_tags_land_on_the_cells():
    canvas = Canvas(grey(160, 90)).grid(3, 4, color="magenta")
    cells = canvas.grid_cells()
    assert list(cells) == [f"{c}{r}" for r in (1, 2, 3) for c in "ABCD"]
    assert cells["A1"] == (0, 0, 40, 30) and cells["B2"] == (40, 30, 80, 60) and cells["D3"] == (120, 60, 160, 90)
    image = canvas.render()
    width = canvas.ops[0].width
    for x in (40, 80, 120):
        assert (image[:, x] == PALETTE["magenta"]).all(axis=1).mean() > 0.6  # the line (tags cross it in places)
    for x0, y0, _, _ in cells.values():
        assert (image[y0 + width + 1, x0 + width + 1] == PALETTE["magenta"]).all()  # inside the cell's tag
    assert (image[75, 20] == GREY).all()  # the middle of a cell is left alone


def test_grid_tags_name_their_cells():
    canvas = Canvas(grey(200, 200)).grid(2, 2, color="white")
    image = canvas.render()
    tags = [image[y0 + 2 : y0 + 20, x0 + 2 : x0 + 30] for x0, y0, _, _ in canvas.grid_cells().values()]
    assert len({tag.tobytes() for tag in tags}) == 4  # A1, B1, A2, B2 all read differently


def test_operations_replay_in_order():
    canvas = Canvas(grey(60, 60))
    red_on_top = canvas.box((10, 10, 50, 50), color="blue", width=3).box((10, 10, 50, 50), color="red", width=3)
    assert (red_on_top.render()[10, 30] == PALETTE["red"]).all()


def test_drawing_never_changes_the_canvas_drawn_on():
    canvas = Canvas(grey())
    before = canvas.render()
    drawn = canvas.box((1, 1, 50, 50)).mark([(60, 60)])
    assert canvas.ops == () and len(drawn.ops) == 2
    assert np.array_equal(canvas.render(), before)
    drawn.render()[:] = 0  # render hands out a copy
    assert not np.array_equal(drawn.render(), np.zeros_like(before))


def test_clean_render_leaves_out_the_drawings():
    image = noise()
    drawn = Canvas(image).box((5, 5, 60, 60)).grid(2, 2)
    assert np.array_equal(drawn.render(clean=True), image)
    assert not np.array_equal(drawn.render(), image)


# --- crop and zoom -------------------------------------------------------------------


def test_crop_at_scale_one_is_the_exact_region_and_maps_back():
    image = noise()
    crop = Canvas(image).crop((30, 20, 70, 50))
    assert crop.size == (40, 30)
    assert np.array_equal(crop.render(), image[20:50, 30:70])
    assert crop.to_parent((0, 0)) == (30, 20) and crop.to_parent((5, 7)) == (35, 27)
    assert crop.from_parent((35, 27)) == (5, 7)


def test_zoom_maps_coordinates_back_exactly():
    image = grey(100, 80)
    image[40:50, 30:40] = PALETTE["red"]
    parent = Canvas(image)
    zoom = parent.crop((20, 30, 60, 70), scale=3)
    assert zoom.size == (120, 120)
    assert zoom.to_parent((0, 0)) == (20, 30)
    assert zoom.to_parent((30, 30)) == (30, 40)
    assert zoom.to_parent((120, 120)) == (60, 70)
    assert zoom.from_parent((35, 45)) == (45, 45)
    x, y = zoom.from_parent((35, 45))  # the middle of the red block
    assert (zoom.render()[int(y), int(x)] == PALETTE["red"]).all()
    x, y = zoom.from_parent((25, 35))
    assert (zoom.render()[int(y), int(x)] == GREY).all()


def test_crop_widens_to_whole_pixels_and_clips_to_the_image():
    canvas = Canvas(noise())
    assert canvas.crop((10.5, 10.2, 20.1, 20.9)).to_parent((0, 0)) == (10, 10)
    assert canvas.crop((10.5, 10.2, 20.1, 20.9)).size == (11, 11)
    clipped = canvas.crop((-10, -10, 20, 20))
    assert clipped.size == (20, 20) and clipped.to_parent((0, 0)) == (0, 0)
    with pytest.raises(ValueError, match="no pixel"):
        canvas.crop((200, 200, 300, 300))


def test_crop_of_a_crop_maps_back_through_each_parent():
    image = noise(200, 200)
    outer = Canvas(image).crop((50, 40, 150, 140), scale=2)
    inner = outer.crop((20, 20, 60, 60), scale=2)
    point = (10, 14)
    assert outer.to_parent(inner.to_parent(point)) == (50 + (20 + 5) / 2, 40 + (20 + 7) / 2)
    assert inner.parents[0] is outer and outer.parents[0].parents == ()


def test_crop_keeps_the_parents_drawings_unless_clean():
    image = grey(100, 100)
    parent = Canvas(image).box((10, 10, 90, 90), color="red", width=2)
    crop = parent.crop((0, 0, 50, 50))
    assert (crop.render()[10, 30] == PALETTE["red"]).all()
    assert (crop.render(clean=True) == GREY).all()


def test_an_original_image_has_no_parent():
    with pytest.raises(ValueError, match="no parent"):
        Canvas(grey()).to_parent((1, 1))


# --- side by side --------------------------------------------------------------------


def frames() -> list[np.ndarray]:
    return [grey(80, 60, 30), grey(160, 120, 90), grey(60, 60, 200)]


def test_side_by_side_puts_frames_in_a_row_with_their_times():
    mosaic = side_by_side(frames(), times=[1.5, 65.0, 3723.25])
    boxes = mosaic.panel_boxes
    assert [b[3] - b[1] for b in boxes] == [60, 60, 60]  # one height: the smallest
    assert [b[2] - b[0] for b in boxes] == [80, 80, 60]
    image = mosaic.render()
    for (x0, y0, x1, y1), value in zip(boxes, (30, 90, 200), strict=True):
        assert (image[y0:y1, x0:x1] == value).all()
        caption = image[y1:, x0:x1]
        assert (caption == 255).all(axis=2).any()  # white caption text under each panel
    assert [p["caption"] for p in mosaic.to_dict()["base"]["panels"]] == ["0:01.5", "1:05", "1:02:03.2"]


def test_side_by_side_maps_each_panel_back_to_its_frame():
    mosaic = side_by_side(frames(), times=[0, 1, 2])
    (_, _, _, _), (x0, _, _, _), _ = mosaic.panel_boxes
    assert mosaic.panel_at((x0 + 10, 20)) == 1
    assert mosaic.to_parent((x0 + 10, 20)) == (20, 40)  # the second frame was halved
    assert mosaic.from_parent((20, 40), panel=1) == (x0 + 10, 20)
    assert mosaic.parents[1].size == (160, 120)
    assert mosaic.panel_at((x0 - 1, 20)) is None  # the gap between panels
    with pytest.raises(ValueError, match="no panel"):
        mosaic.to_parent((x0 - 1, 20))
    with pytest.raises(ValueError, match="caption"):
        mosaic.to_parent((5, 65))


def test_side_by_side_keeps_each_frames_drawings():
    first = Canvas(grey(80, 60)).box((10, 10, 30, 30), color="red", width=2)
    mosaic = side_by_side([first, grey(80, 60)], captions=["before", "after"])
    assert (mosaic.render()[10, 20] == PALETTE["red"]).all()
    assert (mosaic.render(clean=True)[10, 20] == GREY).all()


# --- JSON ------------------------------------------------------------------------------


def every_operation(canvas: Canvas) -> Canvas:
    mask = np.zeros((canvas.height, canvas.width), dtype=bool)
    mask[10:40, 50:90] = True
    return (
        canvas.box((5, 5, 60, 40), label="person 0.91")
        .line((0, 0), (100, 80))
        .arrow((110, 10), (20, 70), color="yellow")
        .mark([(30, 60), (90, 30)])
        .polygon([(60, 50), (110, 60), (80, 85)], fill_alpha=0.3)
        .mask(mask, color="cyan", alpha=0.45)
        .label((0.5, 0.5), "look here", normalized=True)
        .grid(2, 3)
    )


def test_json_round_trip_replays_every_operation_exactly():
    canvas = every_operation(Canvas(noise()))
    replayed = Canvas.from_json(canvas.to_json())
    assert replayed.ops == canvas.ops
    assert np.array_equal(replayed.render(), canvas.render())
    assert json.loads(canvas.to_json())["base"]["png"]  # an array has no file: the image is embedded


def test_json_round_trip_of_crops_and_side_by_sides():
    original = every_operation(Canvas(noise()))
    zoom = original.crop((20, 10, 80, 70), scale=2.5).box((5, 5, 50, 50), label="zoomed")
    mosaic = side_by_side([original, zoom, grey(40, 90)], times=[3.0, 4.0, 75.5]).mark([(10, 10)])
    replayed = Canvas.from_json(mosaic.to_json())
    assert np.array_equal(replayed.render(), mosaic.render())
    assert replayed.panel_boxes == mosaic.panel_boxes
    assert replayed.parents[1].to_parent((50, 50)) == zoom.to_parent((50, 50))


def test_json_can_refer_to_the_image_file(tmp_path):
    path = tmp_path / "frame.png"
    Image.fromarray(noise()).save(path)
    canvas = every_operation(Canvas.open(path))
    text = canvas.to_json(embed_image=False)
    assert "png" not in json.loads(text)["base"] and json.loads(text)["base"]["source"] == str(path.resolve())
    assert np.array_equal(Canvas.from_json(text).render(), canvas.render())
    embedded = canvas.to_json(embed_image=True)
    Image.fromarray(noise(seed=9)).save(path)
    with pytest.raises(ImageError, match="changed"):
        Canvas.from_json(text)
    assert np.array_equal(Canvas.from_json(embedded).render(), canvas.render())  # self-contained


def test_json_refuses_what_it_cannot_replay():
    with pytest.raises(ValueError, match="embed_image=True"):
        Canvas(grey()).to_json(embed_image=False)
    data = Canvas(grey()).to_dict()
    data["ops"] = [{"op": "spiral", "turns": 3}]
    with pytest.raises(ValueError, match="unknown sketch operation"):
        Canvas.from_dict(data)
    with pytest.raises(ValueError, match="format"):
        Canvas.from_dict({"format": "something else"})


def test_rendering_is_deterministic():
    assert np.array_equal(every_operation(Canvas(noise())).render(), every_operation(Canvas(noise())).render())


# --- images in -------------------------------------------------------------------------


def test_images_in_any_common_form_become_rgb():
    rgb = noise(30, 20)
    assert np.array_equal(Canvas(Image.fromarray(rgb)).render(), rgb)
    assert np.array_equal(Canvas(rgb[:, :, 0]).render(), np.repeat(rgb[:, :, :1], 3, axis=2))
    rgba = np.concatenate([rgb, np.full((20, 30, 1), 7, np.uint8)], axis=2)
    assert np.array_equal(Canvas(rgba).render(), rgb)


@pytest.mark.parametrize(
    "image",
    [
        np.zeros((10, 10, 3), np.float32),
        np.zeros((0, 10, 3), np.uint8),
        np.zeros((1, 16385, 3), np.uint8),
        np.zeros((5, 5, 2), np.uint8),
        "frame.png",
    ],
)
def test_unusable_images_raise_image_error(image):
    with pytest.raises(ImageError):
        Canvas(image)


def test_open_reports_a_missing_file(tmp_path):
    with pytest.raises(ImageError, match="cannot read"):
        Canvas.open(tmp_path / "missing.png")


def test_marks_op_numbers_its_points():
    op = MarksOp(((1.0, 2.0), (3.0, 4.0)), start=5, color=(0, 0, 0), radius=8)
    assert op.numbered() == [(5, (1.0, 2.0)), (6, (3.0, 4.0))]
