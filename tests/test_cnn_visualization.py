"""course_lib.cnn_visualization: the three ReLU backward rules against a NumPy loop on a tiny
net and the gradient rule against jax.grad; the LeNet maps (gradient = cnn.saliency, the masks
at the top ReLU); activation maximization (the linear fixed point w / 2λ, clipping, no
recompile); LRN against a NumPy loop and its gradient against finite differences (float64);
bad input."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import widget_views

from course_lib import cnn
from course_lib import cnn_visualization as cv

RNG = np.random.default_rng(0)


# ------------------------------------------------------------------ the three backward rules


def _tiny_numpy_backward(x, W1, W2, w3, rule):
    """d score / d x for score = w3 . relu(W2 relu(W1 x)), by explicit loops and the rule."""
    z1 = [sum(W1[i, j] * x[j] for j in range(len(x))) for i in range(W1.shape[0])]
    h1 = [max(v, 0.0) for v in z1]
    z2 = [sum(W2[i, j] * h1[j] for j in range(len(h1))) for i in range(W2.shape[0])]

    def through_relu(z, g):
        out = []
        for zi, gi in zip(z, g, strict=True):
            if rule == "gradient":
                keep = zi > 0
            elif rule == "deconvnet":
                keep = gi > 0
            else:
                keep = zi > 0 and gi > 0
            out.append(gi if keep else 0.0)
        return out

    g2 = through_relu(z2, list(w3))
    g_h1 = [sum(W2[i, j] * g2[i] for i in range(len(g2))) for j in range(len(h1))]
    g1 = through_relu(z1, g_h1)
    return np.array([sum(W1[i, j] * g1[i] for i in range(len(g1))) for j in range(len(x))])


@pytest.mark.parametrize("rule", cv.RULES)
def test_relu_rules_against_a_numpy_loop(rule):
    with jax.enable_x64(True):
        for seed in range(5):
            rng = np.random.default_rng(seed)
            x, W1, W2, w3 = (rng.normal(size=s) for s in ((5,), (7, 5), (6, 7), (6,)))
            relu = cv.RELUS[rule]

            def score(x, W1=W1, W2=W2, w3=w3, relu=relu):
                return jnp.dot(w3, relu(W2 @ relu(W1 @ x)))

            got = jax.grad(score)(jnp.asarray(x))
            np.testing.assert_allclose(got, _tiny_numpy_backward(x, W1, W2, w3, rule), atol=1e-12)
            # every rule keeps the ReLU's forward pass
            np.testing.assert_array_equal(relu(jnp.asarray(x)), np.maximum(x, 0.0))
            if rule == "gradient":
                plain = jax.grad(
                    lambda x, W1=W1, W2=W2, w3=w3: jnp.dot(
                        w3, jax.nn.relu(W2 @ jax.nn.relu(W1 @ x))
                    )
                )
                np.testing.assert_allclose(got, plain(jnp.asarray(x)), atol=1e-12)


def _lenet(seed=3):
    return cnn.init(jax.random.key(seed), image_size=8, channels=(4, 6), hidden=12)


def test_gradient_map_is_jax_grad_and_the_forward_pass_is_cnn_apply():
    with jax.enable_x64(True):
        params = _lenet()
        x = jnp.asarray(RNG.uniform(size=(5, 8, 8, 1)))
        label = jnp.array([0, 3, 9, 1, 3])
        for rule in cv.RULES:
            np.testing.assert_allclose(
                cv.apply(params, x, rule=rule), cnn.apply(params, x), atol=1e-12
            )
        maps = cv.backward_maps(params, x, label)
        assert maps.shape == (3, 5, 8, 8, 1)
        np.testing.assert_allclose(
            jnp.abs(maps[0])[..., 0], cnn.saliency(params, x, label), atol=1e-12
        )
        for i, rule in enumerate(cv.RULES):
            np.testing.assert_allclose(
                cv.backward_map(params, x, label, rule=rule), maps[i], atol=1e-12
            )


def test_masks_at_the_top_relu_and_non_negative_signals_below_relus():
    """At the dense hidden ReLU the upstream gradient is the same column of W2 for every rule,
    so there the guided mask is exactly the product of the other two masks."""
    with jax.enable_x64(True):
        params = _lenet(4)
        x = jnp.asarray(RNG.uniform(size=(4, 8, 8, 1)))
        label = jnp.array([2, 5, 7, 0])
        (W1, b1), (W2, _) = params["dense"]

        def at_hidden(rule):
            def score(delta):  # d score / d (pre-activation of the hidden layer), via a probe
                h = x
                for w, b in params["conv"]:
                    h = cnn.max_pool(cv.RELUS[rule](cnn.conv2d(h, w, b, padding=1)), 2)
                z = h.reshape(4, -1) @ W1 + b1[None, :] + delta
                logits = cv.RELUS[rule](z) @ W2
                return jnp.sum(jnp.take_along_axis(logits, label[:, None], axis=1)), z

            return jax.grad(score, has_aux=True)(jnp.zeros((4, W1.shape[1])))

        (gp, z), (gd, _), (gg, _) = (at_hidden(r) for r in cv.RULES)
        upstream = W2[:, label].T  # (4, hidden)
        np.testing.assert_allclose(gp, upstream * (z > 0), atol=1e-12)
        np.testing.assert_allclose(gd, upstream * (upstream > 0), atol=1e-12)
        np.testing.assert_allclose(gg, upstream * (z > 0) * (upstream > 0), atol=1e-12)
        assert float(gd.min()) >= 0.0 and float(gg.min()) >= 0.0


def test_backward_maps_do_not_recompile_for_new_labels_and_are_deterministic():
    params = _lenet()
    x = jnp.asarray(RNG.uniform(size=(3, 8, 8, 1)), jnp.float32)
    first = cv.backward_maps(params, x, jnp.array([1, 2, 3]))
    n = widget_views.compiles()
    cv.backward_maps(params, x, jnp.array([4, 5, 6]))
    assert widget_views.compiles() == n
    np.testing.assert_array_equal(cv.backward_maps(params, x, jnp.array([1, 2, 3])), first)


# ------------------------------------------------------------------ activation maximization


def test_gradient_ascent_on_a_linear_score_reaches_w_over_two_lambda():
    with jax.enable_x64(True):
        w = jnp.asarray(RNG.normal(size=(6,)))
        lam = 0.5
        run = cv.gradient_ascent(lambda x: jnp.dot(w, x), jnp.zeros(6), steps=200, lr=0.2, lam=lam)
        np.testing.assert_allclose(run.x, w / (2 * lam), atol=1e-10)
        assert run.objective.shape == (201,)
        assert np.all(np.diff(np.asarray(run.objective)) >= -1e-12), "a concave J rises"
        np.testing.assert_allclose(run.objective[-1], jnp.dot(w, w) / (4 * lam), rtol=1e-10)
        # with clipping, the fixed point is the projection of w / 2λ onto the box
        boxed = cv.gradient_ascent(
            lambda x: jnp.dot(w, x), jnp.zeros(6), steps=200, lr=0.2, lam=lam, low=0.0, high=0.3
        )
        np.testing.assert_allclose(boxed.x, jnp.clip(w / (2 * lam), 0.0, 0.3), atol=1e-10)


def test_activation_maximization_raises_the_scores_and_does_not_recompile():
    params = _lenet()
    # zero biases make the zero image a stationary point (every ReLU sits at its kink)
    params["conv"] = [(w, jnp.full_like(b, 0.1)) for w, b in params["conv"]]
    params["dense"] = [(W, jnp.full_like(b, 0.1)) for W, b in params["dense"]]
    run = cv.activation_maximization(params, jnp.arange(3), steps=20, lr=0.05, lam=0.01)
    assert run.x.shape == (3, 8, 8, 1) and run.objective.shape == (3, 21)
    assert float(run.x.min()) >= 0.0 and float(run.x.max()) <= 1.0
    assert np.all(np.asarray(run.score[:, -1] > run.score[:, 0]))
    logits = cnn.apply(params, run.x)
    np.testing.assert_allclose(run.score[:, -1], logits[jnp.arange(3), jnp.arange(3)], rtol=1e-5)
    n = widget_views.compiles()
    again = cv.activation_maximization(params, jnp.arange(3), steps=20, lr=0.02, lam=0.1)
    assert widget_views.compiles() == n, "lr and lam are traced"
    assert not np.array_equal(again.x, run.x)
    same = cv.activation_maximization(params, jnp.arange(3), steps=20, lr=0.05, lam=0.01)
    np.testing.assert_array_equal(same.x, run.x)


# ------------------------------------------------------------------ local response normalization


def _lrn_loop(a, k, alpha, beta, n, printed=False):
    c = a.shape[-1]
    out = np.zeros_like(a)
    for idx in np.ndindex(a.shape[:-1]):
        for i in range(c):
            window = range(max(0, i - n // 2), min(c - 1, i + n // 2) + 1)
            s = sum((a[idx][i] if printed else a[idx][j]) ** 2 for j in window)
            out[idx][i] = a[idx][i] / (k + alpha * s) ** beta
    return out


@pytest.mark.parametrize("n", [1, 2, 5, 7, 20])
def test_lrn_against_a_numpy_loop(n):
    with jax.enable_x64(True):
        a = RNG.normal(size=(2, 3, 9)) * 30
        for k, alpha, beta in ((2.0, 1e-4, 0.75), (1.0, 1e-2, 0.5), (0.5, 0.1, 1.0)):
            np.testing.assert_allclose(
                cv.lrn(a, k, alpha, beta, n), _lrn_loop(a, k, alpha, beta, n), rtol=1e-12
            )
            np.testing.assert_allclose(
                cv.lrn_as_printed(a, k, alpha, beta, n),
                _lrn_loop(a, k, alpha, beta, n, printed=True),
                rtol=1e-12,
            )


def test_lrn_gradient_against_finite_differences():
    with jax.enable_x64(True):
        a = jnp.asarray(RNG.normal(size=(7,)) * 40)
        v = jnp.asarray(RNG.normal(size=(7,)))

        def f(a):
            return jnp.dot(v, cv.lrn(a, 2.0, 1e-3, 0.75, 5))

        g = np.asarray(jax.grad(f)(a))
        eps = 1e-5
        fd = np.array([(f(a.at[i].add(eps)) - f(a.at[i].add(-eps))) / (2 * eps) for i in range(7)])
        np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-9)


def test_lrn_hyperparameters_are_traced():
    a = jnp.asarray(RNG.uniform(size=(12,)) * 100, jnp.float32)
    first = cv.lrn(a)
    n = widget_views.compiles()
    second = cv.lrn(a, 1.0, 1e-3, 0.5, 9)
    assert widget_views.compiles() == n
    assert not np.allclose(first, second)


def test_bad_input():
    params = _lenet()
    x = jnp.zeros((2, 8, 8, 1))
    with pytest.raises(ValueError, match="`rule` must be one of"):
        cv.backward_map(params, x, jnp.array([0, 1]), rule="guided-backprop")
    with pytest.raises(ValueError, match="`label` must be 2 integer"):
        cv.backward_maps(params, x, jnp.array([0]))
    with pytest.raises(ValueError, match="`label` must lie in 0..9"):
        cv.backward_maps(params, x, jnp.array([0, 10]))
    with pytest.raises(ValueError, match="`x` must be images"):
        cv.backward_maps(params, jnp.zeros((8, 8)), jnp.array([0]))
    with pytest.raises(ValueError, match="`classes` must lie in"):
        cv.activation_maximization(params, jnp.array([11]), steps=3, lr=0.1, lam=0.1)
    with pytest.raises(ValueError, match="`lr`"):
        cv.activation_maximization(params, jnp.array([1]), steps=3, lr=-0.1, lam=0.1)
    with pytest.raises(ValueError, match="`low` must be below `high`"):
        cv.activation_maximization(params, jnp.array([1]), steps=3, lr=0.1, lam=0.1, low=1.0)
    with pytest.raises(ValueError, match="`n` must be a positive integer"):
        cv.lrn(jnp.ones(5), n=0)
    with pytest.raises(ValueError, match="`beta`"):
        cv.lrn(jnp.ones(5), beta=-1.0)
    with pytest.raises(TypeError, match="`a` must be a float array"):
        cv.lrn(jnp.arange(5))
    with pytest.raises(TypeError, match="`x0` must be a float array"):
        cv.gradient_ascent(jnp.sum, jnp.arange(3), steps=2, lr=0.1, lam=0.1)
