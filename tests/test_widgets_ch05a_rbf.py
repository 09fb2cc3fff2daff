"""The picture of the chapter 5a widget (the RBF explorer): every control changes the picture,
the static part is drawn once, the figure fits JupyterLab, the words describe it, nothing
recompiles, and the numbers drawn are the library's two-stage fit.

The fit itself is tested beside the library (tests/test_rbf.py, tests/test_kmeans.py).
"""

import matplotlib

matplotlib.use("Agg")

import jax  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from widget_views import (  # noqa: E402, F401 (course_style: an autouse fixture)
    build_quietly,
    check_controls,
    check_fits_and_words,
    check_same_picture,
    course_style,
)

from course_lib import kmeans, rbf, widgets  # noqa: E402

MOVES = {
    "m": [3, 30],
    "sigma": [0.05, 0.6],
    "prototypes": ["a random sample", "k-means"],
}


def _build():
    return build_quietly(widgets.rbf_explorer)


def test_every_control_changes_the_picture_and_nothing_recompiles():
    check_controls(widgets.rbf_explorer, MOVES)


def test_the_picture_fits_jupyterlab_and_has_words():
    check_fits_and_words(_build())


def test_same_setting_same_picture():
    check_same_picture(_build(), MOVES)


def test_moves_do_not_recompile_the_fit():
    demo = _build()
    before = widgets.rbf_explorer_cache_size()
    for m, sigma, how in [(1, 0.02, "k-means"), (17, 1.5, "a random sample"), (30, 0.1, "k-means")]:
        demo.set(m=m, sigma=sigma, prototypes=how)
    assert widgets.rbf_explorer_cache_size() == before


def test_the_drawn_fit_is_the_librarys_two_stage_fit_and_the_words_match():
    demo = _build()
    res = demo.set(m=6, sigma=0.2, prototypes="k-means")
    key = jax.random.key(0)
    X, y = rbf.toy_regression(key=jax.random.fold_in(key, 0), n=40, noise=0.2)
    C0 = kmeans.sample_prototypes(X, 30, key=jax.random.fold_in(key, 2))
    mask = np.arange(30) < 6
    ref = kmeans.kmeans_masked(X, C0, mask, iters=15).centers
    np.testing.assert_allclose(res.centers[:6], np.asarray(ref)[:6, 0], rtol=1e-5, atol=1e-6)
    H = rbf.rbf_activations(X, ref, 0.2)
    w = rbf.masked_ridge_output(H, y, mask, 1e-3)
    np.testing.assert_allclose(res.weights, w, rtol=1e-3, atol=1e-3)
    assert np.all(res.weights[6:] == 0)
    drawn = [line for line in demo.view.bumps if len(line.get_xdata())]
    assert len(drawn) == 6
    np.testing.assert_allclose(res.fit, res.bumps.sum(axis=0))
    train = float(np.mean((np.asarray(H @ w) - np.asarray(y)) ** 2))
    assert res.train_mse == pytest.approx(train, rel=1e-3)
    alt = demo.alt
    assert "6 Gaussian units" in alt and "bandwidth 0.200" in alt and "k-means" in alt
    assert f"{res.train_mse:.3f}" in alt and f"{res.val_mse:.3f}" in alt
    demo.set(prototypes="a random sample")
    assert "from a random sample" in demo.alt
    np.testing.assert_array_equal(demo.last.centers, np.asarray(C0)[:, 0])


def test_few_units_underfit_and_narrow_many_overfit():
    demo = _build()
    few = demo.compute(m=2, sigma=0.15, prototypes="k-means")
    spiky = demo.compute(m=30, sigma=0.02, prototypes="k-means")
    assert few.train_mse > 0.1
    assert spiky.val_mse > 2 * spiky.train_mse
