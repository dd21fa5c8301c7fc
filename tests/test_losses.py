"""Perceptual and temporal losses, AdaIN, warping and occlusion masks, checked against hand computations."""

from __future__ import annotations

import math

import pytest
import torch

from stylecam.losses.perceptual import (
    adain_style_loss,
    content_loss,
    gram_matrix,
    luminance_layout,
    mean_std,
    random_directions,
    sliced_distance,
    sorted_projections,
    split_tiles,
    style_loss,
    tv_loss,
)
from stylecam.losses.temporal import occlusion_mask, temporal_loss, warp
from stylecam.nets.adain import adain, masked_adain


def t(values: list, *shape: int) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float32).reshape(*shape)


# --- perceptual --------------------------------------------------------------------------------------------


def test_gram_matrix_normalised_by_chw() -> None:
    # Two channels of 1x2 pixels: rows a = (1, 2) and b = (3, 4).
    features = t([1, 2, 3, 4], 1, 2, 1, 2)
    # a·a = 5, a·b = 11, b·b = 25, divided by C·H·W = 2·1·2 = 4.
    expected = t([5 / 4, 11 / 4, 11 / 4, 25 / 4], 1, 2, 2)
    torch.testing.assert_close(gram_matrix(features), expected)


def test_split_tiles_cuts_a_grid_in_row_major_order_and_drops_the_remainder() -> None:
    features = torch.arange(2 * 3 * 9 * 10, dtype=torch.float32).reshape(2, 3, 9, 10)
    tiles = split_tiles(features, 2)
    assert tiles.shape == (8, 3, 4, 5)
    # sample 1, tile (row 1, column 0) is the 5th tile of that sample
    torch.testing.assert_close(tiles[4 + 2], features[1, :, 4:8, 0:5])
    assert split_tiles(features, 1) is features


def test_tiled_style_loss_tells_a_blob_from_a_texture_that_the_plain_gram_cannot() -> None:
    torch.manual_seed(0)
    texture = torch.randn(1, 8, 32, 32)
    target = {"x": gram_matrix(texture)}
    # all the texture's energy squeezed into one quadrant: the same Gram matrix on average, but a blob
    blob = torch.zeros_like(texture)
    blob[..., :16, :16] = 2 * texture[..., :16, :16]
    plain = style_loss({"x": blob}, target)
    tiled = style_loss({"x": blob}, target, tiles=2)
    assert plain < 0.03 * tiled
    assert style_loss({"x": texture}, target, tiles=2) < 0.05 * tiled


def test_sliced_distance_in_one_dimension_compares_sorted_values() -> None:
    one = torch.ones(1, 1)  # a single direction along the single channel
    features = t([3.0, 1.0, 2.0, 0.0], 1, 1, 2, 2)
    target = sorted_projections(t([4.0, 0.0, 2.0, 1.0], 1, 4), one)[None]
    # sorted 0 1 2 3 against 0 1 2 4
    assert float(sliced_distance(features, target, one)) == pytest.approx(1.0 / 4)
    # a target of twice as many samples is read at the features' quantiles: 0,0,1,1,2,2,4,4 -> 0 1 2 4
    doubled = sorted_projections(t([4.0, 4.0, 0.0, 0.0, 2.0, 2.0, 1.0, 1.0], 1, 8), one)[None]
    assert float(sliced_distance(features, doubled, one)) == pytest.approx(1.0 / 4)


def test_sliced_distance_ignores_where_features_are_but_not_how_much_of_the_image_they_cover() -> None:
    torch.manual_seed(0)
    directions = random_directions(3, 8, torch.Generator().manual_seed(1))
    assert torch.allclose(directions.norm(dim=0), torch.ones(8))
    features = torch.rand(1, 3, 4, 4)
    target = sorted_projections(features.reshape(3, 16), directions)[None]
    shuffled = features.reshape(3, 16)[:, torch.randperm(16)].reshape(1, 3, 4, 4)
    assert float(sliced_distance(shuffled, target, directions)) < 1e-10
    # Same Gram matrix (1), different distributions: every pixel at 1, or half at sqrt(2) and half at 0 (a blob).
    even, blob = torch.ones(1, 1, 4, 4), torch.zeros(1, 1, 4, 4)
    blob[..., :2, :] = math.sqrt(2)
    torch.testing.assert_close(gram_matrix(even), gram_matrix(blob))
    one = torch.ones(1, 1)
    target = sorted_projections(even.reshape(1, 16), one)[None]
    assert float(sliced_distance(blob, target, one)) > 0.1 and float(sliced_distance(even, target, one)) == 0.0


def test_gram_matrix_batch_and_2d_layout() -> None:
    # Batch of 2, one channel, 2x2: the Gram is the sum of squares / (1·2·2).
    features = t([1, 2, 3, 4, 0, 0, 0, 2], 2, 1, 2, 2)
    torch.testing.assert_close(gram_matrix(features), t([30 / 4, 4 / 4], 2, 1, 1))


def test_content_loss_sums_mse_over_target_layers() -> None:
    features = {"a": t([1, 2, 3, 4], 1, 1, 2, 2), "b": t([0, 0], 1, 2, 1, 1), "ignored": t([100.0], 1, 1, 1, 1)}
    targets = {"a": t([1, 1, 1, 1], 1, 1, 2, 2), "b": t([1, -1], 1, 2, 1, 1)}
    # a: (0 + 1 + 4 + 9) / 4 = 3.5; b: (1 + 1) / 2 = 1.
    assert content_loss(features, targets).item() == pytest.approx(4.5)
    assert content_loss(features, {}).item() == 0.0


def test_style_loss_layer_weights_and_batch_broadcast() -> None:
    features = {
        # C=1, H=1, W=2; samples (1, 2) and (0, 3): grams (1+4)/2 = 2.5 and 9/2 = 4.5.
        "l1": t([1, 2, 0, 3], 2, 1, 1, 2),
        # C=2, H=W=1; samples (1, 2) and (0, 1): grams [[1,2],[2,4]]/2 and [[0,0],[0,1]]/2.
        "l2": t([1, 2, 0, 1], 2, 2, 1, 1),
    }
    targets = {"l1": t([1.0], 1, 1, 1), "l2": torch.zeros(1, 2, 2)}  # batch 1, broadcast over the batch of 2
    l1 = ((2.5 - 1) ** 2 + (4.5 - 1) ** 2) / 2  # = 7.25
    l2 = (0.5**2 + 1**2 + 1**2 + 2**2 + 0 + 0 + 0 + 0.5**2) / 8  # = 0.8125
    assert style_loss(features, targets).item() == pytest.approx(l1 + l2)
    assert style_loss(features, targets).item() == pytest.approx(8.0625)
    weighted = style_loss(features, targets, {"l1": 2.0, "l2": 0.5})
    assert weighted.item() == pytest.approx(2.0 * 7.25 + 0.5 * 0.8125)  # 14.90625
    # A per-sample target of batch 2 gives the same as the broadcast one.
    per_sample = {name: target.expand(2, *target.shape[1:]) for name, target in targets.items()}
    assert style_loss(features, per_sample).item() == pytest.approx(8.0625)
    # The loss is zero against the features' own grams.
    own = {name: gram_matrix(f) for name, f in features.items()}
    assert style_loss(features, own).item() == 0.0


def test_mean_std_by_hand() -> None:
    # Channel 0: 1, 3, 5, 7 (mean 4, biased variance (9+1+1+9)/4 = 5); channel 1: all 2 (variance 0).
    features = t([1, 3, 5, 7, 2, 2, 2, 2], 1, 2, 2, 2)
    mean, std = mean_std(features, eps=0.0)
    torch.testing.assert_close(mean, t([4, 2], 1, 2, 1, 1))
    torch.testing.assert_close(std, t([math.sqrt(5), 0], 1, 2, 1, 1))
    _, std_eps = mean_std(features, eps=1e-2)
    torch.testing.assert_close(std_eps, t([math.sqrt(5.01), math.sqrt(0.01)], 1, 2, 1, 1))


def test_adain_style_loss_by_hand() -> None:
    eps = 1e-5  # mean_std's default
    # features: ch0 (1, 3): mean 2, var 1; ch1 (2, 2): mean 2, var 0.
    # target:   ch0 (0, 4): mean 2, var 4; ch1 (5, 7): mean 6, var 1.
    features = {"a": t([1, 3, 2, 2], 1, 2, 1, 2)}
    targets = {"a": t([0, 4, 5, 7], 1, 2, 1, 2)}
    mean_term = ((2 - 2) ** 2 + (2 - 6) ** 2) / 2  # = 8
    std_term = ((math.sqrt(1 + eps) - math.sqrt(4 + eps)) ** 2 + (math.sqrt(eps) - math.sqrt(1 + eps)) ** 2) / 2
    assert adain_style_loss(features, targets).item() == pytest.approx(mean_term + std_term, rel=1e-5)
    # Two layers add up.
    both = adain_style_loss({"a": features["a"], "b": features["a"]}, {"a": targets["a"], "b": targets["a"]})
    assert both.item() == pytest.approx(2 * (mean_term + std_term), rel=1e-5)


def test_tv_loss_3x3() -> None:
    image = t([1, 2, 4, 0, 0, 0, 3, 3, 3], 1, 1, 3, 3)
    # Horizontal differences |2-1|, |4-2|, 0, 0, 0, 0: mean 3/6.
    # Vertical differences |0-1|, |0-2|, |0-4|, 3, 3, 3: mean 16/6.
    assert tv_loss(image).item() == pytest.approx(3 / 6 + 16 / 6)


def test_tv_loss_2x2_and_constant() -> None:
    image = t([0, 1, 1, 3], 1, 1, 2, 2)
    # dx: |1-0|, |3-1| -> mean 1.5; dy: |1-0|, |3-1| -> mean 1.5.
    assert tv_loss(image).item() == pytest.approx(3.0)
    assert tv_loss(torch.full((2, 3, 4, 4), 7.0)).item() == 0.0


def test_luminance_layout_by_hand() -> None:
    image = torch.zeros(1, 3, 2, 4)
    image[..., 2:] = 1.0  # dark left half, white right half
    layout = luminance_layout(image, cell=2)
    assert layout.shape == (1, 1, 1, 2)
    # Cells of luminance 0 and 1: mean 0.5, std (unbiased, two cells) 0.7071.
    assert layout.flatten().tolist() == pytest.approx([-0.5 / (0.5 ** 0.5 + 1e-3), 0.5 / (0.5 ** 0.5 + 1e-3)])


def test_luminance_layout_ignores_palette_and_contrast_but_not_a_glow() -> None:
    y, x = torch.meshgrid(torch.linspace(0, 1, 32), torch.linspace(0, 1, 48), indexing="ij")
    grey = (0.5 + 0.3 * torch.sin(6 * x) * torch.cos(4 * y)).expand(1, 3, -1, -1)  # light and dark areas
    repainted = 0.2 + 0.5 * grey * torch.tensor([1.0, 0.9, 0.6]).view(1, 3, 1, 1)  # darker, flatter, sepia
    assert torch.allclose(luminance_layout(repainted), luminance_layout(grey), atol=0.02)
    glowing = grey.clone()
    glowing[..., 8:24, 16:32] += 0.3  # a light band the photo does not have
    difference = (luminance_layout(glowing) - luminance_layout(grey)).pow(2).mean()
    assert difference > 100 * (luminance_layout(repainted) - luminance_layout(grey)).pow(2).mean()


# --- AdaIN -------------------------------------------------------------------------------------------------


def test_adain_matches_style_statistics() -> None:
    generator = torch.Generator().manual_seed(0)
    content = torch.randn(2, 4, 5, 6, generator=generator) * 3 + 1
    style = torch.randn(2, 4, 7, 3, generator=generator) * torch.tensor([0.5, 2, 4, 1]).view(1, 4, 1, 1) - 2
    out = adain(content, style)
    assert out.shape == content.shape
    out_mean, out_std = mean_std(out, eps=0.0)
    style_mean, style_std = mean_std(style, eps=0.0)
    torch.testing.assert_close(out_mean, style_mean, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(out_std, style_std, rtol=1e-4, atol=1e-5)
    # The content's spatial pattern survives: per channel, out is an increasing affine map of content.
    for n in range(2):
        for c in range(4):
            corr = torch.corrcoef(torch.stack((out[n, c].flatten(), content[n, c].flatten())))[0, 1]
            assert corr > 0.9999


def test_adain_by_hand() -> None:
    content = t([0, 2], 1, 1, 1, 2)  # mean 1, std 1
    style = t([10, 20], 1, 1, 1, 2)  # mean 15, std 5
    # (x - 1) / 1 * 5 + 15 -> 10, 20 (up to eps).
    torch.testing.assert_close(adain(content, style, eps=0.0), t([10, 20], 1, 1, 1, 2))


def test_masked_adain_leaves_outside_unchanged() -> None:
    generator = torch.Generator().manual_seed(1)
    content = torch.randn(1, 3, 6, 8, generator=generator)
    style = torch.randn(1, 3, 4, 4, generator=generator) * 3 + 5
    mask = torch.zeros(1, 1, 6, 8)
    mask[..., :, :3] = 1
    out = masked_adain(content, style, mask)
    inside, outside = mask.bool().expand_as(content), ~mask.bool().expand_as(content)
    assert torch.equal(out[outside], content[outside])
    assert not torch.allclose(out[inside], content[inside])
    # Inside, the statistics are the style's.
    region = out[..., :, :3]
    style_mean, style_std = mean_std(style, eps=0.0)
    region_mean, region_std = mean_std(region, eps=0.0)
    torch.testing.assert_close(region_mean, style_mean, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(region_std, style_std, rtol=1e-3, atol=1e-4)


def test_masked_adain_resizes_mask_and_full_mask_is_adain() -> None:
    generator = torch.Generator().manual_seed(2)
    content = torch.randn(1, 2, 4, 4, generator=generator)
    style = torch.randn(1, 2, 3, 3, generator=generator)
    big_mask = torch.zeros(1, 1, 8, 8)
    big_mask[..., 4:, :] = 1  # bottom half at twice the feature resolution
    out = masked_adain(content, style, big_mask)
    assert torch.equal(out[..., :2, :], content[..., :2, :])
    assert not torch.allclose(out[..., 2:, :], content[..., 2:, :])
    torch.testing.assert_close(masked_adain(content, style, torch.ones(1, 1, 4, 4)), adain(content, style))


# --- temporal ----------------------------------------------------------------------------------------------


def _constant_flow(dx: float, dy: float, n: int = 1, h: int = 10, w: int = 12) -> torch.Tensor:
    flow = torch.empty(n, 2, h, w)
    flow[:, 0] = dx
    flow[:, 1] = dy
    return flow


def test_warp_zero_flow_is_identity() -> None:
    image = torch.rand(2, 3, 9, 11, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(warp(image, torch.zeros(2, 2, 9, 11)), image, rtol=0, atol=1e-5)


@pytest.mark.parametrize(("dx", "dy"), [(2, 1), (-3, 0), (0, -2), (1, -1)])
def test_warp_constant_integer_flow_shifts(dx: int, dy: int) -> None:
    h, w = 10, 12
    image = torch.rand(1, 3, h, w, generator=torch.Generator().manual_seed(4))
    out = warp(image, _constant_flow(dx, dy, h=h, w=w))
    # Backward warping: out[y, x] = image[y + dy, x + dx] wherever that source pixel exists.
    ys = range(max(0, -dy), min(h, h - dy))
    xs = range(max(0, -dx), min(w, w - dx))
    checked = 0
    for y in ys:
        for x in xs:
            torch.testing.assert_close(out[0, :, y, x], image[0, :, y + dy, x + dx], rtol=0, atol=1e-5)
            checked += 1
    assert checked == (h - abs(dy)) * (w - abs(dx))
    # The same as a tensor slice, to be explicit about the direction.
    torch.testing.assert_close(
        out[..., ys.start : ys.stop, xs.start : xs.stop],
        image[..., ys.start + dy : ys.stop + dy, xs.start + dx : xs.stop + dx],
        rtol=0,
        atol=1e-5,
    )


def test_warp_half_pixel_is_bilinear() -> None:
    image = t([0, 10, 20, 30], 1, 1, 1, 4).expand(1, 1, 3, 4).contiguous()
    out = warp(image, _constant_flow(0.5, 0, h=3, w=4))
    torch.testing.assert_close(out[0, 0, 1, :3], t([5, 15, 25], 3), rtol=0, atol=1e-4)


def test_occlusion_mask_consistent_flows_all_ones() -> None:
    h, w = 10, 12
    d = (3.0, -2.0)
    fw = _constant_flow(*d, h=h, w=w)
    bw = _constant_flow(-d[0], -d[1], h=h, w=w)
    mask = occlusion_mask(fw, bw)
    assert mask.shape == (1, 1, h, w)
    assert torch.equal(mask[..., 3:-3, 3:-3], torch.ones(1, 1, h - 6, w - 6))


def test_occlusion_mask_inconsistent_flows_all_zeros() -> None:
    h, w = 10, 12
    fw = _constant_flow(3.0, -2.0, h=h, w=w)
    bw = _constant_flow(3.0, -2.0, h=h, w=w)  # round trip lands 2d away: |2d|^2 = 52 > 0.01 * 26 + 0.5
    mask = occlusion_mask(fw, bw)
    assert torch.equal(mask, torch.zeros(1, 1, h, w))


def test_occlusion_mask_small_inconsistency_tolerated_large_not() -> None:
    fw = _constant_flow(2.0, 0.0)
    # Round trip error 0.5 px: 0.25 < 0.01 * (4 + 2.25) + 0.5 = 0.5625 -> reliable.
    assert torch.equal(occlusion_mask(fw, _constant_flow(-1.5, 0.0)), torch.ones(1, 1, 10, 12))
    # Round trip error 1 px: 1 > 0.01 * (4 + 1) + 0.5 = 0.55 -> unreliable.
    assert torch.equal(occlusion_mask(fw, _constant_flow(-1.0, 0.0)), torch.zeros(1, 1, 10, 12))


def test_occlusion_mask_marks_motion_boundary() -> None:
    h, w = 8, 10
    bw = torch.zeros(1, 2, h, w)
    bw[:, 0, :, 5:] = 0.6  # a moving region on the right, small enough to pass the round-trip test
    fw = -bw.clone()
    mask = occlusion_mask(fw, bw)
    # The flow gradient jumps between columns 4 and 5: column 4 (its forward difference) is a boundary.
    assert torch.equal(mask[0, 0, :, 4], torch.zeros(h))
    assert torch.equal(mask[0, 0, :, :4], torch.ones(h, 4))
    assert torch.equal(mask[0, 0, :, 6:], torch.ones(h, w - 6))


def test_temporal_loss_by_hand() -> None:
    output = t([1, 2, 3, 4, 0, 0, 0, 0], 1, 2, 2, 2)
    warped = t([0, 2, 1, 4, 2, 2, 2, 2], 1, 2, 2, 2)
    mask = t([1, 0, 1, 1], 1, 1, 2, 2)
    # Squared differences: channel 0 [[1, 0], [4, 0]], channel 1 [[4, 4], [4, 4]].
    # Masked: channel 0: 1 + 0 + 4 + 0 = 5; channel 1: 4 + 0 + 4 + 4 = 12. D = 2·2·2 = 8 values.
    assert temporal_loss(output, warped, mask).item() == pytest.approx(17 / 8)
    assert temporal_loss(output, warped, torch.zeros(1, 1, 2, 2)).item() == 0.0
    assert temporal_loss(output, warped, torch.ones(1, 1, 2, 2)).item() == pytest.approx((1 + 4 + 16) / 8)
