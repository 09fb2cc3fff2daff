"""course_lib.word2vec's Eq 2.60 (skip-gram as multinomial matrix factorization): the loss
against a NumPy double loop and the per-pair skip-gram sum, the hand gradient against jax.grad
and finite differences (float64), training (determinism, no recompile on a new rate), bad input."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import word2vec as w2v

RNG = np.random.default_rng(0)


def _loop_loss(U, V, C):
    total = 0.0
    for i in range(U.shape[0]):
        s = [float(U[i] @ V[j]) for j in range(V.shape[0])]
        log_z = np.log(sum(np.exp(x) for x in s))
        for j in range(V.shape[0]):
            total -= C[i, j] * (s[j] - log_z)
    return total


def test_loss_equals_a_double_loop_and_the_per_pair_skipgram_sum():
    with jax.enable_x64(True):
        ids = RNG.integers(0, 7, size=60)
        centres, contexts = w2v.context_pairs(ids, 2)
        C = w2v.cooccurrence(centres, contexts, 7)
        U, V = jnp.asarray(RNG.normal(size=(7, 3))), jnp.asarray(RNG.normal(size=(7, 3)))
        got = float(w2v.multinomial_mf_loss(U, V, C))
        assert got == pytest.approx(
            _loop_loss(np.asarray(U), np.asarray(V), np.asarray(C)), rel=1e-12
        )
        per_pair = jax.vmap(w2v.skipgram_loss, in_axes=(None, 0, 0))(
            w2v.Embeddings(U, V), centres, contexts[:, None]
        )
        assert got == pytest.approx(float(jnp.sum(per_pair)), rel=1e-12)


def test_hand_gradient_equals_jax_grad_and_finite_differences():
    with jax.enable_x64(True):
        U = jnp.asarray(RNG.normal(size=(5, 3)))
        V = jnp.asarray(RNG.normal(size=(6, 3)))  # rectangular: contexts need not be the words
        C = jnp.asarray(RNG.integers(0, 4, size=(5, 6)).astype(float))
        dU, dV = w2v.multinomial_mf_grads(U, V, C)
        aU, aV = jax.grad(w2v.multinomial_mf_loss, argnums=(0, 1))(U, V, C)
        np.testing.assert_allclose(dU, aU, atol=1e-12)
        np.testing.assert_allclose(dV, aV, atol=1e-12)
        eps = 1e-6
        for M, grad, which in ((U, dU, 0), (V, dV, 1)):
            D = jnp.asarray(RNG.normal(size=M.shape))
            plus = [U, V]
            minus = [U, V]
            plus[which], minus[which] = M + eps * D, M - eps * D
            fd = (w2v.multinomial_mf_loss(*plus, C) - w2v.multinomial_mf_loss(*minus, C)) / (
                2 * eps
            )
            assert float(fd) == pytest.approx(float(jnp.sum(grad * D)), rel=1e-6)


def test_fit_lowers_the_loss_is_deterministic_and_does_not_recompile():
    C = jnp.asarray(RNG.integers(0, 5, size=(9, 9)).astype(np.float32))
    a, la = w2v.fit_multinomial_mf(C, key=jax.random.key(1), dim=3, steps=50, lr=0.05)
    b, lb = w2v.fit_multinomial_mf(C, key=jax.random.key(1), dim=3, steps=50, lr=0.05)
    np.testing.assert_array_equal(a.U, b.U)
    np.testing.assert_array_equal(la, lb)
    assert la[-1] < la[0]
    n = w2v.fit_multinomial_mf_cache_size()
    w2v.fit_multinomial_mf(C, key=jax.random.key(2), dim=3, steps=50, lr=0.01)
    assert w2v.fit_multinomial_mf_cache_size() == n, "the rate is traced: no recompile"


def test_bad_input():
    U, V = jnp.zeros((3, 2)), jnp.zeros((4, 2))
    with pytest.raises(ValueError, match="must fit together"):
        w2v.multinomial_mf_loss(U, V, jnp.zeros((4, 3)))
    with pytest.raises(ValueError, match="must fit together"):
        w2v.multinomial_mf_grads(U, jnp.zeros((4, 3)), jnp.zeros((3, 4)))
    with pytest.raises(ValueError, match="non-negative"):
        w2v.fit_multinomial_mf(-jnp.ones((3, 3)), key=jax.random.key(0), dim=2)
    with pytest.raises((TypeError, ValueError), match="dim"):
        w2v.fit_multinomial_mf(jnp.ones((3, 3)), key=jax.random.key(0), dim=0)
