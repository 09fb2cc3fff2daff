"""course_lib.checks.cnn_training: each check passes a right answer and fails plausible mistakes.

The right answers here are written independently of the solutions notebook and, where it is
cheap, of the library: NumPy loops for the convolution, its gradients, pooling and occlusion; a
closed formula for the parameter count; NumPy's log-sum-exp for the cross-entropy;
``jax.jacrev`` of the logits for the saliency map.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import checks, cnn
from course_lib.checks import CheckFailed


def _stub(*args):
    raise NotImplementedError("Exercise: replace this with your code")


@pytest.mark.parametrize(
    "check",
    [
        checks.conv_layer,
        checks.conv_layer_grads,
        checks.max_pool_reshape,
        checks.lenet_param_count,
        checks.evaluate,
        checks.saliency_map,
        checks.occlusion_drop,
    ],
)
def test_every_check_says_not_implemented_for_the_stub(check):
    with pytest.raises(CheckFailed, match="not implemented yet"):
        check(_stub)


# ------------------------------------------------------------------------------ conv_layer


def _conv_loops(x, w, b, stride, padding, *, flip=False, bias=True):
    x, w, b = (np.asarray(a, np.float64) for a in (x, w, b))
    if flip:
        w = w[::-1, ::-1]
    xp = np.pad(x, ((0, 0), (padding, padding), (padding, padding), (0, 0)))
    n, H, W, _ = xp.shape
    F, G, _, cout = w.shape
    Ho, Wo = (H - F) // stride + 1, (W - G) // stride + 1
    y = np.zeros((n, Ho, Wo, cout))
    for i in range(Ho):
        for j in range(Wo):
            patch = xp[:, i * stride : i * stride + F, j * stride : j * stride + G, :]
            y[:, i, j, :] = np.einsum("nrsk,rskp->np", patch, w)
    return y + (b if bias else 0.0)


def test_conv_layer_passes_numpy_loops(capsys):
    checks.conv_layer(_conv_loops)
    assert "✔ conv_layer" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda x, w, b, s, p: _conv_loops(x, w, b, s, p, bias=False), "add the bias"),
        (lambda x, w, b, s, p: _conv_loops(x, w, b, s, p, flip=True), "does not flip"),
        (lambda x, w, b, s, p: _conv_loops(x, w, b, s, 0), "output size per axis"),
        (lambda x, w, b, s, p: _conv_loops(x, w, b, 1, p), "output size per axis"),
    ],
)
def test_conv_layer_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.conv_layer(wrong)


# ------------------------------------------------------------------------------ conv_layer_grads


def _grads_numpy(x, w, g, padding, *, mode="right"):
    x, g = np.asarray(x, np.float64), np.asarray(g, np.float64)
    F, G = w.shape[:2]
    xp = np.pad(x, ((0, 0), (padding, padding), (padding, padding), (0, 0)))
    _, Ho, Wo, _ = g.shape
    if mode == "first_image":
        xp, g = xp[:1], g[:1]
    dw = np.zeros(w.shape)
    for r in range(F):
        for s in range(G):
            dw[r, s] = np.einsum("nijk,nijp->kp", xp[:, r : r + Ho, s : s + Wo, :], g)
    db = g.sum(axis=(0, 1, 2))
    if mode == "flipped":
        dw = dw[::-1, ::-1]
    if mode == "mean":
        dw, db = dw / x.shape[0], db / x.shape[0]
    if mode == "db_mean":
        db = g.mean(axis=(0, 1, 2))
    return dw, db


def test_conv_layer_grads_passes_numpy_loops(capsys):
    checks.conv_layer_grads(_grads_numpy)
    assert "✔ conv_layer_grads" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("mode", "hint"),
    [
        ("flipped", "rotated by 180"),
        ("mean", "do not average"),
        ("first_image", "sum over the batch axis"),
        ("db_mean", "each bias is added"),
    ],
)
def test_conv_layer_grads_fails_common_mistakes(mode, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.conv_layer_grads(lambda x, w, g, p: _grads_numpy(x, w, g, p, mode=mode))


def test_conv_layer_grads_needs_a_pair():
    with pytest.raises(CheckFailed, match=r"expected a tuple \(dw, db\)"):
        checks.conv_layer_grads(lambda x, w, g, p: _grads_numpy(x, w, g, p)[0])


# ------------------------------------------------------------------------------ max_pool_reshape


def _pool_loops(x, size, reduce=np.max):
    x = np.asarray(x)
    n, H, W, C = x.shape
    out = np.zeros((n, H // size, W // size, C))
    for i in range(H // size):
        for j in range(W // size):
            block = x[:, i * size : (i + 1) * size, j * size : (j + 1) * size, :]
            out[:, i, j, :] = reduce(block, axis=(1, 2))
    return out


def test_max_pool_reshape_passes_loops(capsys):
    checks.max_pool_reshape(_pool_loops)
    assert "✔ max_pool_reshape" in capsys.readouterr().out


def _bad_reshape(x, size):
    n, H, W, C = x.shape
    return jnp.max(x.reshape(n, H // size, W // size, size, size, C), axis=(3, 4))


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda x, s: _pool_loops(x, s, np.mean), "average pooling"),
        (_bad_reshape, "interleaved"),
        (lambda x, s: _pool_loops(x, s, np.min), "take the max over axes 2 and 4"),
    ],
)
def test_max_pool_reshape_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.max_pool_reshape(wrong)


def _masked_sum(x, size):
    # the entries equal to the block's maximum, added up: the max without ties, m·max with them
    x = np.asarray(x)
    m = _pool_loops(x, size)
    up = np.repeat(np.repeat(m, size, axis=1), size, axis=2)
    return _pool_loops(x * (x == up), size, np.sum)


def test_max_pool_reshape_rejects_adding_up_tied_maxima():
    x = np.random.default_rng(0).standard_normal((2, 4, 4, 3))  # no ties: right here
    np.testing.assert_allclose(_masked_sum(x, 2), _pool_loops(x, 2))
    with pytest.raises(CheckFailed, match="tie") as err:
        checks.max_pool_reshape(_masked_sum)
    assert "tied maxima" in str(err.value)


# ------------------------------------------------------------------------------ lenet_param_count


def _count(size, channels, hidden, k, *, biases=True, pool=True):
    total, d = 0, 1
    for c in channels:
        total += 9 * d * c + (c if biases else 0)
        d = c
        size = size // 2 if pool else size
    flat = size * size * d
    return total + flat * hidden + hidden * k + ((hidden + k) if biases else 0)


def test_lenet_param_count_passes_the_formula(capsys):
    checks.lenet_param_count(_count)
    assert "✔ lenet_param_count" in capsys.readouterr().out
    assert _count(8, (16, 32), 64, 10) == 13_706  # the notebook's model, by hand


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda *a: _count(*a, biases=False), "count the biases"),
        (lambda *a: _count(*a, pool=False), "halves the height"),
        (lambda *a: _count(*a) + 1, "per conv layer"),
    ],
)
def test_lenet_param_count_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.lenet_param_count(wrong)


# ------------------------------------------------------------------------------ evaluate


def _evaluate(logits, labels):
    z = np.asarray(logits, np.float64)
    y = np.asarray(labels)
    m = z.max(axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.exp(z - m).sum(axis=1))
    return float(np.mean(lse - z[np.arange(len(y)), y])), float(np.mean(z.argmax(1) == y))


def _naive(logits, labels):
    p = jnp.exp(logits) / jnp.exp(logits).sum(axis=1, keepdims=True)
    loss = -jnp.mean(jnp.log(p[jnp.arange(len(labels)), labels]))
    return loss, jnp.mean(jnp.argmax(logits, 1) == labels)


def test_evaluate_passes_logsumexp(capsys):
    checks.evaluate(_evaluate)
    assert "✔ evaluate" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda z, y: (_evaluate(z, y)[0] * len(y), _evaluate(z, y)[1]), "do not sum"),
        (lambda z, y: (-_evaluate(z, y)[0], _evaluate(z, y)[1]), "mind the sign"),
        (_naive, "overflows"),
        (lambda z, y: (_evaluate(z, y)[0], float(np.mean(np.argmin(z, 1) == y))), "fraction"),
    ],
)
def test_evaluate_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.evaluate(wrong)


# ------------------------------------------------------------------------------ saliency_map


def _saliency(params, x, label, *, prob=False, absolute=True):
    def score(v):
        z = cnn.apply(params, v[None])[0]
        return jax.nn.softmax(z) if prob else z

    g = np.asarray(jax.jacrev(score)(x))[label]  # (H, W, 1): the row of the Jacobian
    return np.abs(g).max(axis=2) if absolute else g[..., 0]


def test_saliency_map_passes_a_jacobian_row(capsys):
    checks.saliency_map(_saliency)
    assert "✔ saliency_map" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda p, x, c: _saliency(p, x, c, prob=True), "not the probability"),
        (lambda p, x, c: _saliency(p, x, c, absolute=False), "absolute value"),
        (lambda p, x, c: _saliency(p, x, (c + 1) % 10), "differentiate the logit"),
        (lambda p, x, c: _saliency(p, x, c)[None], "drop the channel axis"),
    ],
)
def test_saliency_map_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.saliency_map(wrong)


# ------------------------------------------------------------------------------ occlusion_drop


def _occlusion(params, x, label, size, *, mode="drop"):
    x = np.asarray(x)
    H, W = x.shape[:2]

    def prob(img):
        return float(jax.nn.softmax(cnn.apply(params, jnp.asarray(img)[None])[0])[label])

    base, out = prob(x), np.zeros((H - size + 1, W - size + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            im = x.copy()
            im[i : i + size, j : j + size] = 0.0
            out[i, j] = {"drop": base - prob(im), "sign": prob(im) - base, "occluded": prob(im)}[
                mode
            ]
    return out


def test_occlusion_drop_passes_loops(capsys):
    checks.occlusion_drop(_occlusion)
    assert "✔ occlusion_drop" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda p, x, c, s: _occlusion(p, x, c, s, mode="sign"), "mind the sign"),
        (lambda p, x, c, s: _occlusion(p, x, c, s, mode="occluded"), r"not p\(occluded\)"),
        (lambda p, x, c, s: _occlusion(p, x, c, s)[:-1], "one value per patch position"),
    ],
)
def test_occlusion_drop_fails_common_mistakes(wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.occlusion_drop(wrong)


# ------------------------------------------------------------------------------ the widget


def test_digit_inspector_matches_the_library_and_never_recompiles():
    from course_lib import widgets

    params = cnn.init(jax.random.key(0), image_size=8, channels=(4, 4), hidden=8)
    images = jnp.asarray(np.random.default_rng(0).uniform(0, 1, (5, 8, 8, 1)))
    labels = jnp.asarray([0, 3, 5, 7, 9])
    demo = widgets.digit_inspector(params, images, labels)
    before = widgets.inspect_digit_cache_size()
    view = demo.compute(index=2, row=1, col=3, patch=2)
    occluded = cnn.occlude(images[2:3], 1, 3, 2)
    np.testing.assert_allclose(view.image, occluded[0, :, :, 0])
    np.testing.assert_allclose(view.probs, jax.nn.softmax(cnn.apply(params, occluded)[0]))
    np.testing.assert_allclose(view.saliency, cnn.saliency(params, occluded, labels[2:3])[0])
    assert int(view.label) == 5
    for index, patch in [(0, 0), (4, 3), (1, 4)]:
        demo.compute(index=index, row=np.int64(2), col=3, patch=patch)
    demo.set(index=3)
    assert widgets.inspect_digit_cache_size() == before  # traced controls: no recompilation


def test_image_grid_draws_each_image_with_a_centred_scale():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from course_lib import plotting

    images = np.stack([np.arange(9.0).reshape(3, 3) - 2.0, -np.ones((3, 3))])
    fig, axes = plt.subplots(1, 2)
    plotting.image_grid(axes, images, ["a", "b"])
    for ax, im in zip(axes, images, strict=True):
        (shown,) = ax.get_images()
        np.testing.assert_array_equal(shown.get_array(), im)
        v = np.abs(im).max()
        assert shown.get_clim() == (-v, v)  # symmetric: 0 is the middle colour
    assert [ax.get_title() for ax in axes] == ["a", "b"]
    plotting.image_grid(axes[:1], images[:1], symmetric=False, cmap="magma")
    assert axes[0].get_images()[-1].get_clim() == (-2.0, 6.0)
    plt.close(fig)
