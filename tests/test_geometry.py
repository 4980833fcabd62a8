"""facekit.geometry: box conversions, IoU against hand-computed values, greedy and Hungarian matching."""

from __future__ import annotations

import numpy as np
import pytest

from facekit.geometry import centres, iou_matrix, iou_pairs, match, xywh_to_xyxy, xyxy_to_xywh


def test_conversions_round_trip():
    rng = np.random.default_rng(1)
    xywh = np.column_stack([rng.uniform(-50, 500, (20, 2)), rng.uniform(0, 80, (20, 2))])
    xyxy = xywh_to_xyxy(xywh)
    np.testing.assert_array_equal(xyxy[:, 2:], xywh[:, :2] + xywh[:, 2:])
    np.testing.assert_allclose(xyxy_to_xywh(xyxy), xywh, rtol=0, atol=1e-12)
    assert xywh_to_xyxy(np.array([1, 2, 3, 4])).tolist() == [[1.0, 2.0, 4.0, 6.0]]  # one box as a flat list
    assert xyxy_to_xywh(np.zeros((0, 4))).shape == (0, 4)
    assert centres(np.array([[10, 20, 4, 6]])).tolist() == [[12.0, 23.0]]


def test_iou_against_hand_computed_values():
    a = np.array([[0, 0, 10, 10]])
    b = np.array(
        [
            [0, 0, 10, 10],  # itself: 1
            [5, 0, 10, 10],  # half over: 50 / 150
            [5, 5, 10, 10],  # a quarter: 25 / 175
            [10, 0, 10, 10],  # touching edges: 0
            [2, 2, 2, 3],  # inside: 6 / 100
            [50, 50, 1, 1],  # far: 0
            [3, 3, 0, 5],  # empty box: 0
        ]
    )
    expected = [1.0, 50 / 150, 25 / 175, 0.0, 6 / 100, 0.0, 0.0]
    np.testing.assert_allclose(iou_matrix(a, b)[0], expected, rtol=1e-15)
    np.testing.assert_allclose(iou_matrix(b, a)[:, 0], expected, rtol=1e-15)
    np.testing.assert_allclose(iou_matrix(xywh_to_xyxy(a), xywh_to_xyxy(b), fmt="xyxy")[0], expected, rtol=1e-15)
    np.testing.assert_allclose(iou_pairs(np.repeat(a, len(b), axis=0), b), expected, rtol=1e-15)
    assert iou_matrix(np.zeros((1, 4)), np.zeros((1, 4))).tolist() == [[0.0]]  # two empty boxes: 0, not NaN


def test_iou_shapes_and_empty_inputs():
    boxes = np.array([[0, 0, 1, 1], [0, 0, 2, 2], [5, 5, 1, 1]], float)
    assert iou_matrix(boxes, boxes[:2]).shape == (3, 2)
    assert iou_matrix(np.zeros((0, 4)), boxes).shape == (0, 3)
    assert iou_matrix(boxes, np.zeros((0, 4))).shape == (3, 0)
    assert iou_pairs(np.zeros((0, 4)), np.zeros((0, 4))).shape == (0,)
    np.testing.assert_array_equal(np.diag(iou_matrix(boxes, boxes)), 1.0)


def test_greedy_and_hungarian_differ_where_the_best_pair_blocks_two_good_ones():
    overlap = np.array([[0.9, 0.8], [0.7, 0.0]])
    rows, cols = match(overlap, 0.5, method="greedy")
    assert (rows.tolist(), cols.tolist()) == ([0], [0])  # the best pair first; row 1 has nothing left
    rows, cols = match(overlap, 0.5, method="hungarian")
    assert (rows.tolist(), cols.tolist()) == ([0, 1], [1, 0])  # the largest total: 0.8 + 0.7
    assert match(overlap, 0.5)[0].tolist() == [0, 1]  # Hungarian is the default


@pytest.mark.parametrize("method", ["greedy", "hungarian"])
def test_threshold_is_inclusive(method):
    overlap = np.array([[0.5, 0.0], [0.0, 0.4999999]])
    rows, cols = match(overlap, 0.5, method=method)
    assert (rows.tolist(), cols.tolist()) == ([0], [0])
    assert match(overlap, 0.5000001, method=method)[0].size == 0


@pytest.mark.parametrize("method", ["greedy", "hungarian"])
def test_pairs_below_the_threshold_never_block_pairs_above_it(method):
    # The largest total (0.55 + 0.55) uses two pairs under 0.58; the one pair over it must survive.
    overlap = np.array([[0.6, 0.55], [0.55, 0.0]])
    rows, cols = match(overlap, 0.58, method=method)
    assert (rows.tolist(), cols.tolist()) == ([0], [0])


@pytest.mark.parametrize("method", ["greedy", "hungarian"])
def test_match_shapes(method):
    none = match(np.zeros((0, 3)), 0.5, method=method)
    assert none[0].dtype == np.int64 and none[0].size == none[1].size == 0
    assert match(np.zeros((2, 0)), 0.5, method=method)[0].size == 0
    rng = np.random.default_rng(2)
    overlap = rng.random((6, 4))
    rows, cols = match(overlap, 0.3, method=method)
    assert rows.tolist() == sorted(rows.tolist())  # sorted by row
    assert len(set(rows.tolist())) == rows.size and len(set(cols.tolist())) == cols.size  # one to one
    assert (overlap[rows, cols] >= 0.3).all() and rows.size <= 4


def test_unknown_methods_are_refused():
    with pytest.raises(ValueError, match="method must be"):
        match(np.ones((1, 1)), 0.5, method="best")  # type: ignore[arg-type]


def test_hungarian_total_is_never_below_greedy():
    rng = np.random.default_rng(3)
    for _ in range(50):
        overlap = rng.random((5, 5)) * (rng.random((5, 5)) > 0.4)
        greedy, hungarian = match(overlap, 0.2, method="greedy"), match(overlap, 0.2, method="hungarian")
        assert overlap[hungarian].sum() >= overlap[greedy].sum() - 1e-12
