"""course_lib.vae: the reparametrization, the KL term, the ELBO and training (§4.10.4).

Oracles: jax.grad and central finite differences (float64), a Monte-Carlo KL, the textbook
KL between two Gaussians written in NumPy, and (for the ELBO being a *lower bound*) the exact
log-likelihood of a 1-D-code model computed by quadrature.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import data, vae


def test_reparametrization_gradients_are_one_and_z():
    mu = jnp.array([0.3, -1.0, 2.0])
    sigma = jnp.array([0.5, 1.5, 0.2])
    z = jnp.array([1.2, -0.7, 0.1])
    for i in range(3):
        g_mu, g_sigma = jax.grad(lambda m, s, i=i: vae.reparametrize(m, s, z)[i], (0, 1))(mu, sigma)
        np.testing.assert_array_equal(g_mu, np.eye(3)[i])
        np.testing.assert_array_equal(g_sigma, np.eye(3)[i] * np.asarray(z))
    np.testing.assert_allclose(vae.reparametrize(mu, sigma, z), z * sigma + mu)


def _kl_numpy(mu, sigma):
    """KL(N(mu, s^2) || N(0, 1)) per coordinate, the textbook form, summed."""
    mu, sigma = np.asarray(mu, float), np.asarray(sigma, float)
    return np.sum(np.log(1.0 / sigma) + (sigma**2 + mu**2) / 2.0 - 0.5, axis=-1)


def test_kl_closed_form_equals_numpy_and_is_zero_at_the_prior():
    mu = np.array([[0.0, 0.0], [1.0, -2.0], [0.3, 0.1]])
    sigma = np.array([[1.0, 1.0], [0.5, 2.0], [0.1, 3.0]])
    np.testing.assert_allclose(vae.gaussian_kl(mu, sigma), _kl_numpy(mu, sigma), rtol=1e-12)
    assert float(vae.gaussian_kl(np.zeros(4), np.ones(4))) == 0.0
    assert np.all(np.asarray(vae.gaussian_kl(mu[1:], sigma[1:])) > 0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_kl_closed_form_matches_monte_carlo_within_its_standard_error(seed):
    k = jax.random.key(seed)
    mu = jax.random.normal(jax.random.fold_in(k, 0), (3,))
    sigma = jnp.exp(0.5 * jax.random.normal(jax.random.fold_in(k, 1), (3,)))
    est, se = vae.kl_monte_carlo(mu, sigma, key=jax.random.fold_in(k, 2), samples=200_000)
    assert abs(float(est) - float(vae.gaussian_kl(mu, sigma))) < 4 * float(se)


def test_kl_gradients_by_hand_equal_jax_grad_and_finite_differences(fd_gradient):
    mu = np.array([0.4, -1.3, 0.0])
    sigma = np.array([0.7, 1.0, 2.5])
    g_mu, g_sigma = vae.kl_grads(mu, sigma)
    a_mu, a_sigma = jax.grad(lambda m, s: vae.gaussian_kl(m, s), (0, 1))(mu, sigma)
    np.testing.assert_allclose(g_mu, a_mu, rtol=1e-12)
    np.testing.assert_allclose(g_sigma, a_sigma, rtol=1e-12)
    np.testing.assert_allclose(
        g_mu, fd_gradient(lambda m: vae.gaussian_kl(m, sigma), mu), rtol=1e-7
    )
    np.testing.assert_allclose(
        g_sigma, fd_gradient(lambda s: vae.gaussian_kl(mu, s), sigma), rtol=1e-6, atol=1e-9
    )
    assert float(g_sigma[1]) == 0.0  # sigma = 1 is the minimum in that coordinate


def test_negative_elbo_equals_its_formula_in_numpy():
    p = vae.init(key=jax.random.key(3), d=6, hidden=5, k=2)
    X = jax.random.uniform(jax.random.key(4), (4, 6))
    z = jax.random.normal(jax.random.key(5), (4, 2))
    got = np.asarray(vae.negative_elbo(p, X, z, 0.3))
    mu, log_s = (np.asarray(a) for a in vae.encode(p, X))
    h = mu + np.exp(log_s) * np.asarray(z)
    xh = np.asarray(vae.decode(p, jnp.asarray(h)))
    nll = np.sum((np.asarray(X) - xh) ** 2, 1) / (2 * 0.09) + 3 * math.log(2 * math.pi * 0.09)
    np.testing.assert_allclose(got, nll + _kl_numpy(mu, np.exp(log_s)), rtol=1e-12)


def test_the_elbo_is_a_lower_bound_on_the_exact_log_likelihood():
    """One-dimensional code: log p(x) = log of the integral of p(x|h) N(h; 0, 1), by quadrature."""
    p = vae.init(key=jax.random.key(6), d=4, hidden=8, k=1)
    X = jax.random.uniform(jax.random.key(7), (3, 4))
    sx = 0.3
    grid = jnp.linspace(-8, 8, 4001)
    dh = float(grid[1] - grid[0])
    dec = vae.decode(p, grid[:, None])  # (G, d)
    log_lik = -vae.gaussian_nll(X[:, None, :], dec[None, :, :], sx)  # (n, G)
    log_prior = -0.5 * grid**2 - 0.5 * math.log(2 * math.pi)
    log_px = jax.scipy.special.logsumexp(log_lik + log_prior[None, :], axis=1) + math.log(dh)
    z = jax.random.normal(jax.random.key(8), (20000, 3, 1))
    draws = -jax.vmap(lambda zz: vae.negative_elbo(p, X, zz, sx))(z)  # (20000, n)
    elbo, se = jnp.mean(draws, axis=0), jnp.std(draws, axis=0) / math.sqrt(z.shape[0])
    assert np.all(np.asarray(elbo) < np.asarray(log_px) + 4 * np.asarray(se))
    assert np.all(np.asarray(elbo) > np.asarray(log_px) - 1.0)  # and not a trivially loose one


def test_mean_model_elbo_is_the_gaussian_log_likelihood_of_the_mean():
    Xtr = np.array([[0.0, 1.0], [1.0, 1.0]])
    X = np.array([[0.5, 0.0]])
    sx = 0.5
    expected = -(1.0 / (2 * 0.25) + math.log(2 * math.pi * 0.25))
    assert float(vae.mean_model_elbo(Xtr, X, sx)) == pytest.approx(expected, rel=1e-12)


def test_training_beats_the_mean_model_and_the_ae_setting_shares_the_compilation():
    digits = data.digits()
    X = digits.X[:400]
    before = None
    params, hist = vae.fit(X, key=jax.random.key(9), epochs=30, batch_size=50)
    before = vae.fit_cache_size()
    held = digits.X[1500:1700]
    e = float(vae.elbo(params, held, key=jax.random.key(10), sigma_x=0.2))
    assert e > float(vae.mean_model_elbo(X, held, 0.2)) + 3.0
    assert float(hist[-1]) < float(hist[0])
    ae, _ = vae.fit(
        X, key=jax.random.key(9), epochs=30, batch_size=50, kl_weight=0.0, sample_scale=0.0
    )
    assert vae.fit_cache_size() == before
    samples = vae.decode(params, jax.random.normal(jax.random.key(11), (7, 2)))
    assert samples.shape == (7, 64) and float(samples.min()) >= 0 and float(samples.max()) <= 1


def test_decode_one_and_interpolate_agree_with_decode():
    p = vae.init(key=jax.random.key(12), d=64, hidden=16, k=2)
    a, b = jnp.array([0.5, -1.0]), jnp.array([-2.0, 1.0])
    path = vae.interpolate(p, a, b, steps=5)
    np.testing.assert_allclose(path[0], vae.decode_one(p, a[0], a[1]), rtol=1e-12)
    np.testing.assert_allclose(path[-1], vae.decode(p, b[None, :])[0], rtol=1e-12)
    np.testing.assert_allclose(path[2], vae.decode(p, ((a + b) / 2)[None, :])[0], rtol=1e-12)


def test_shapes_of_init_and_encode():
    p = vae.init(key=jax.random.key(0), d=10, hidden=7, k=3)
    mu, ls = vae.encode(p, jnp.ones((4, 10)))
    assert mu.shape == ls.shape == (4, 3) and vae.decode(p, mu).shape == (4, 10)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: vae.gaussian_kl(jnp.zeros(3), -jnp.ones(3)), ValueError, "`sigma` must be"),
        (lambda: vae.gaussian_kl(jnp.zeros(3), jnp.ones(2)), ValueError, "one shape"),
        (lambda: vae.reparametrize(jnp.zeros(3), jnp.ones(3), jnp.ones(4)), ValueError, "one"),
        (lambda: vae.kl_monte_carlo(jnp.zeros(3), jnp.ones(3), key=None, samples=10), TypeError,
         "`key`"),
        (lambda: vae.fit(jnp.ones((10, 4)), key=jax.random.key(0), batch_size=20), ValueError,
         "`batch_size`"),
        (lambda: vae.fit(jnp.ones((10, 4)), key=jax.random.key(0), batch_size=5, sigma_x=0.0),
         ValueError, "`sigma_x`"),
        (lambda: vae.fit(jnp.array([[np.inf, 1.0]]), key=jax.random.key(0), batch_size=1),
         ValueError, "`X`"),
        (lambda: vae.elbo(None, "x", key=jax.random.key(0), sigma_x=0.2), TypeError, "`X`"),
    ],
)  # fmt: skip
def test_bad_input_is_rejected_with_a_clear_message(call, error, match):
    with pytest.raises(error, match=match):
        call()
