"""Bad input raises a clear error (audit Part C, ../shared/audits/grader-generator-inputs.md).

One parametrized case per audit row that used to end in a raw trace (BAD) or a silent NaN /
wrong answer (WORST), the row number in the test id, plus the siblings fixed the same way.
Each asserts the error type and that the message names the argument; the tests below them
check that the same functions still accept valid input, also under ``jax.jit``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import (
    autoencoders,
    cnn,
    gradcheck,
    linear_models,
    mlp,
    optim,
    perceptron,
    rnn,
)
from course_lib import word2vec as w2v

KEY = jax.random.key(0)
DUP = np.array([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]])  # two identical columns: rank 1
EMB = w2v.init(key=KEY, vocab_size=5, dim=3)
NET = mlp.init(key=KEY, sizes=(2, 3, 2))

# (id, thunk, error type, match) -- the id starts with the audit row ("sib" = a sibling)
CASES = [
    (
        "row09-perceptron.epoch-empty-X",
        lambda: perceptron.epoch(np.zeros(2), np.zeros((0, 2)), np.zeros(0)),
        ValueError,
        r"`X` must hold at least one example",
    ),
    (
        "row29-optim.apply_updates-mismatched-trees",
        lambda: optim.apply_updates({"w": jnp.zeros(2)}, {"v": jnp.zeros(2)}),
        ValueError,
        r"`updates` must have the same tree structure as `params`",
    ),
    (
        "row30-optim.apply_updates-shape-mismatch",
        lambda: optim.apply_updates({"w": jnp.zeros(2)}, {"w": jnp.zeros(3)}),
        ValueError,
        r"`updates`\['w'\] must have the shape of `params`\['w'\], \(2,\), got \(3,\)",
    ),
    (
        "row34-linear_models.ridge_closed_form-singular-lam0",
        lambda: linear_models.ridge_closed_form(DUP, np.array([1.0, 2.0, 3.0])),
        ValueError,
        r"singular for this `X` \(numerical rank 1 < 2\).*lam > 0",
    ),
    (
        "row46-word2vec.context_pairs-float-ids",
        lambda: w2v.context_pairs(np.array([0.5, 1.5, 2.5]), 1),
        TypeError,
        r"`ids` must be integer ids, got dtype float",
    ),
    (
        "row84-gradcheck.finite_difference-vector-f",
        lambda: gradcheck.finite_difference(lambda w: w**2, np.array([1.0, 2.0]), 1e-3),
        ValueError,
        r"`f` must return a scalar .* got shape \(2,\)",
    ),
    (
        "row87-word2vec.cbow_loss-target-out-of-range",
        lambda: w2v.cbow_loss(EMB, jnp.array([0, 1]), 99),
        ValueError,
        r"`target` must lie in \[0, 5\), got values in \[99, 99\]",
    ),
    (
        "row88-word2vec.cbow_loss-negative-context",
        lambda: w2v.cbow_loss(EMB, jnp.array([-7, 1]), 2),
        ValueError,
        r"`context` must lie in \[0, 5\), got values in \[-7, 1\]",
    ),
    (
        "row88-word2vec.cbow_loss-context-too-large",
        lambda: w2v.cbow_loss(EMB, jnp.array([0, 99]), 2),
        ValueError,
        r"`context` must lie in \[0, 5\)",
    ),
    (
        "row90-perceptron.epoch-lr-inf",
        lambda: perceptron.epoch(np.zeros(2), np.eye(2), np.ones(2), lr=float("inf")),
        ValueError,
        r"`lr` must be a finite number, got inf",
    ),
    (
        "row92-mlp.forward-nan-X",
        lambda: mlp.forward(NET, np.array([[np.nan, 1.0]])),
        ValueError,
        r"`X` contains 1 NaN or infinite",
    ),
    (
        "row95-linear_models.fisher_direction-singular-scatter",
        lambda: linear_models.fisher_direction(np.array([[0.0, 1.0], [1.0, 0.0]]), [1.0, -1.0]),
        ValueError,
        r"within-class scatter S_w is singular for this `X`.*d \+ 2 examples",
    ),
    (
        "row96-linear_models.ridge_closed_form-empty-X",
        lambda: linear_models.ridge_closed_form(np.zeros((0, 2)), np.zeros(0)),
        ValueError,
        r"`X` must hold at least one example \(row\), got shape \(0, 2\)",
    ),
    (
        "row97-autoencoders.pca-one-row",
        lambda: autoencoders.pca(np.array([[1.0, 2.0, 3.0]]), 1),
        ValueError,
        r"`X` must hold at least 2 rows for PCA",
    ),
    (
        "row99-cnn.conv2d-inf-x",
        lambda: cnn.conv2d(jnp.full((1, 1, 1, 1), jnp.inf), jnp.ones((1, 1, 1, 1))),
        ValueError,
        r"`x` contains 1 NaN or infinite",
    ),
    (
        "row103-optim.sgd-string-learning-rate",
        lambda: optim.sgd("0.1"),
        TypeError,
        r"`learning_rate` must be a real number, got str '0.1'",
    ),
    # ------------------------------------------------------------------ siblings
    (
        "sib-optim.adam-learning-rate-inf",
        lambda: optim.adam(float("inf")),
        ValueError,
        r"`learning_rate` must be in \(0.0, inf\), got inf",
    ),
    (
        "sib-optim.exponential_decay-init-value-inf",
        lambda: optim.exponential_decay(float("inf"), 0.1),
        ValueError,
        r"`init_value` must be in \(0.0, inf\)",
    ),
    (
        "sib-optim.newton_step-singular-hessian",
        lambda: optim.newton_step(lambda w: jnp.sum(w**3), jnp.zeros(2)),
        ValueError,
        r"Hessian of `loss_fn` at this `w` is singular",
    ),
    (
        "sib-perceptron.fit-empty-X",
        lambda: perceptron.fit(np.zeros((0, 2)), np.zeros(0), epochs=1),
        ValueError,
        r"`X` must hold at least one example",
    ),
    (
        "sib-perceptron.accuracy-empty-X",
        lambda: perceptron.accuracy(np.zeros(2), np.zeros((0, 2)), np.zeros(0)),
        ValueError,
        r"`X` must hold at least one example",
    ),
    (
        "sib-linear_models.fit_binary-lr-inf",
        lambda: linear_models.fit_binary(
            np.eye(2), [1.0, -1.0], loss="hinge", lr=float("inf"), steps=1
        ),
        ValueError,
        r"`lr` must be a finite number",
    ),
    (
        "sib-linear_models.ridge_closed_form-nan-y",
        lambda: linear_models.ridge_closed_form(np.eye(2), [np.nan, 1.0], 0.1),
        ValueError,
        r"`y` contains 1 NaN",
    ),
    (
        "sib-linear_models.fisher_direction-nan-X",
        lambda: linear_models.fisher_direction(
            np.array([[np.nan, 1.0], [1.0, 0.0], [0.0, 1.0], [2.0, 2.0]]), [1.0, 1.0, -1.0, -1.0]
        ),
        ValueError,
        r"`X` contains 1 NaN",
    ),
    (
        "sib-linear_models.accuracy-empty-X",
        lambda: linear_models.accuracy(np.zeros((2, 2)), np.zeros((0, 2)), np.zeros(0, int)),
        ValueError,
        r"`X` must hold at least one example",
    ),
    (
        "sib-rnn.ridge_readout-singular-ridge0",
        lambda: rnn.ridge_readout(np.ones((5, 2)), np.ones(5), ridge=0.0),
        ValueError,
        r"singular for this `states`.*ridge > 0",
    ),
    (
        "sib-word2vec.cbow_update-float-target",
        lambda: w2v.cbow_update(EMB, jnp.array([0, 1]), 2.5, 0.1),
        TypeError,
        r"`target` must be integer ids, got dtype float",
    ),
    (
        "sib-word2vec.skipgram_loss-centre-out-of-range",
        lambda: w2v.skipgram_loss(EMB, 5, jnp.array([0, 1])),
        ValueError,
        r"`centre` must lie in \[0, 5\)",
    ),
    (
        "sib-word2vec.skipgram_update-negative-contexts",
        lambda: w2v.skipgram_update(EMB, 0, jnp.array([-1, 1]), 0.1),
        ValueError,
        r"`contexts` must lie in \[0, 5\)",
    ),
    (
        "sib-word2vec.sgns_loss-negatives-out-of-range",
        lambda: w2v.sgns_loss(EMB, 0, 1, jnp.array([2, 7])),
        ValueError,
        r"`negatives` must lie in \[0, 5\)",
    ),
    (
        "sib-word2vec.sgns_update-float-centres",
        lambda: w2v.sgns_update(
            EMB, jnp.array([0.0, 1.0]), jnp.array([1, 2]), jnp.ones((2, 1), int), 0.1
        ),
        TypeError,
        r"`centres` must be integer ids",
    ),
    (
        "sib-word2vec.batch_sgns_loss-contexts-out-of-range",
        lambda: w2v.batch_sgns_loss(EMB, jnp.array([0]), jnp.array([9]), jnp.ones((1, 1), int)),
        ValueError,
        r"`contexts` must lie in \[0, 5\)",
    ),
    (
        "sib-word2vec.cbow_windows-negative-ids",
        lambda: w2v.cbow_windows(np.array([0, -1, 2, 3]), 1),
        ValueError,
        r"`ids` must lie in \[0, inf\)",
    ),
    (
        "sib-word2vec.subsample-ids-beyond-counts",
        lambda: w2v.subsample(np.array([0, 3]), np.array([5.0, 2.0]), key=KEY),
        ValueError,
        r"`ids` must lie in \[0, 2\)",
    ),
    (
        "sib-word2vec.train_sgns-contexts-beyond-counts",
        lambda: w2v.train_sgns([0, 1], [1, 4], [3, 2], key=KEY, dim=2, batch_size=1),
        ValueError,
        r"`contexts` must lie in \[0, 2\)",
    ),
    (
        "sib-word2vec.train_softmax-float-targets",
        lambda: w2v.train_softmax("cbow", [[0, 1]], [0.5], key=KEY, vocab_size=3, dim=2),
        TypeError,
        r"`targets` must be integer ids",
    ),
    (
        "sib-word2vec.cooccurrence-out-of-range",
        lambda: w2v.cooccurrence([0, 1], [1, 3], 3),
        ValueError,
        r"`contexts` must lie in \[0, 3\)",
    ),
    (
        "sib-mlp.train-label-out-of-range",
        lambda: mlp.train(NET, np.ones((2, 2)), np.array([0, 2]), lr=0.1, steps=1),
        ValueError,
        r"`labels` must lie in \[0, 2\)",
    ),
    (
        "sib-mlp.train-lr-inf",
        lambda: mlp.train(NET, np.ones((2, 2)), np.array([0, 1]), lr=float("inf"), steps=1),
        ValueError,
        r"`lr` must be a finite number",
    ),
    (
        "sib-cnn.conv2d-nan-w",
        lambda: cnn.conv2d(jnp.ones((1, 2, 2, 1)), jnp.full((1, 1, 1, 1), jnp.nan)),
        ValueError,
        r"`w` contains 1 NaN",
    ),
]


@pytest.mark.parametrize(
    ("thunk", "error", "match"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_input_raises_a_clear_error(thunk, error, match):
    with pytest.raises(error, match=match):
        thunk()


# ------------------------------------------------------------------ valid input still passes


def test_perceptron_epoch_valid_and_finite_lr():
    w, mistakes = perceptron.epoch(np.zeros(2), np.eye(2), np.array([1.0, -1.0]), lr=1e30)
    assert np.all(np.isfinite(np.asarray(w))) and int(mistakes) == 2


def test_apply_updates_valid_eager_and_under_jit():
    params = {"w": jnp.ones(2), "b": jnp.zeros(())}
    updates = {"w": jnp.full(2, -0.5), "b": jnp.ones(())}
    expected = {"w": np.full(2, 0.5), "b": np.ones(())}
    for fn in (optim.apply_updates, jax.jit(optim.apply_updates)):
        out = fn(params, updates)
        np.testing.assert_allclose(out["w"], expected["w"])
        np.testing.assert_allclose(out["b"], expected["b"])


def test_optimizers_accept_numbers_and_clip_accepts_inf():
    opt = optim.sgd(0.1)
    state = opt.init(jnp.ones(2))
    upd, _ = opt.update(jnp.ones(2), state)
    np.testing.assert_allclose(upd, [-0.1, -0.1], rtol=1e-6)
    optim.clip_by_global_norm(float("inf"))  # "no clipping" stays allowed


def test_ridge_valid_inputs_still_solve():
    X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    y = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(
        linear_models.ridge_closed_form(X, y), np.linalg.lstsq(X, y, rcond=None)[0], rtol=1e-5
    )
    w = linear_models.ridge_closed_form(DUP, y, 0.1)  # rank-deficient but lam > 0: fine
    assert np.all(np.isfinite(np.asarray(w)))


def test_fisher_direction_valid_and_ridge_readout_with_ridge():
    X = np.array([[0.0, 1.0], [1.0, 0.5], [2.0, 2.5], [3.0, 1.0], [0.5, 0.0], [1.5, 2.0]])
    y = np.array([1.0, 1.0, 1.0, -1.0, -1.0, -1.0])
    assert np.all(np.isfinite(np.asarray(linear_models.fisher_direction(X, y))))
    W = rnn.ridge_readout(np.ones((5, 2)), np.ones(5))  # default ridge 1e-6 > 0
    assert np.all(np.isfinite(np.asarray(W)))


def test_pca_two_rows_and_gradcheck_scalar_f():
    scores, comps, mean = autoencoders.pca(np.array([[1.0, 2.0], [3.0, 5.0]]), 1)
    assert scores.shape == (2, 1) and comps.shape == (2, 1)
    g = gradcheck.finite_difference(lambda w: jnp.sum(w**2), np.array([1.0, 2.0]), 1e-3)
    np.testing.assert_allclose(g, [2.0, 4.0], rtol=1e-2)
    fd = jax.jit(lambda w: gradcheck.fd_gradient(lambda v: jnp.sum(v**2), w, 1e-3))
    np.testing.assert_allclose(fd(jnp.array([1.0, 2.0])), [2.0, 4.0], rtol=1e-2)


def test_newton_step_valid():
    np.testing.assert_allclose(
        optim.newton_step(lambda w: jnp.sum(w**3), jnp.array([-1.0])), [-0.5]
    )


def test_word2vec_valid_ids_eager_jit_grad_and_vmap():
    context, target = jnp.array([0, 4]), jnp.asarray(2)
    eager = w2v.cbow_loss(EMB, context, target)
    np.testing.assert_allclose(jax.jit(w2v.cbow_loss)(EMB, context, target), eager, rtol=1e-6)
    assert jax.grad(w2v.cbow_loss)(EMB, context, target).U.shape == (5, 3)
    batched = jax.vmap(w2v.cbow_loss, in_axes=(None, 0, 0))(
        EMB, jnp.stack([context] * 3), jnp.arange(3)
    )
    assert batched.shape == (3,)
    assert jax.jit(w2v.skipgram_update)(EMB, 1, context, 0.1).U.shape == (5, 3)
    assert np.isfinite(float(w2v.sgns_loss(EMB, 0, 1, jnp.array([2, 3]))))
    c, x = w2v.context_pairs([0, 1, 2, 1], 1)  # Python ints are fine
    assert c.dtype == jnp.int32 and len(c) == 6


def test_mlp_and_cnn_valid_eager_and_under_jit():
    X = np.array([[0.5, -1.0], [1.0, 2.0]])
    out = mlp.forward(NET, X)
    np.testing.assert_allclose(jax.jit(mlp.forward)(NET, X), out, rtol=1e-6)
    params, losses = mlp.train(NET, X, np.array([0, 1]), lr=0.1, steps=3)
    assert losses.shape == (3,)
    x, w = jnp.ones((1, 3, 3, 1)), jnp.ones((2, 2, 1, 1))
    y = cnn.conv2d(x, w)
    np.testing.assert_allclose(jax.jit(cnn.conv2d)(x, w), y)
    np.testing.assert_allclose(y, 4.0)
