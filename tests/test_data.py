"""Tests for course_lib.data: keyed generators with a planted answer, and the loader interface."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import data

KEY = jax.random.key(0)


def rows(X):
    """The rows of X as a sorted list of tuples: a multiset that ignores order."""
    return sorted(map(tuple, np.asarray(X).tolist()))


# ---------------------------------------------------------------- determinism


GENERATORS = {
    "linearly_separable": lambda key: tuple(data.linearly_separable(key=key, n=200, d=5)),
    "xor_blobs": lambda key: tuple(data.xor_blobs(key=key, n=300)),
    "above_diagonal": lambda key: tuple(data.above_diagonal(key=key, n=500)),
}


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_same_key_same_data_different_key_different_data(name):
    make = GENERATORS[name]
    a, b, c = make(jax.random.key(1)), make(jax.random.key(1)), make(jax.random.key(2))
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[0], c[0])


def test_legacy_uint32_keys_are_accepted_and_deterministic():
    a = data.above_diagonal(key=jax.random.PRNGKey(3), n=500)
    b = data.above_diagonal(key=jax.random.PRNGKey(3), n=500)
    np.testing.assert_array_equal(a.X, b.X)


# ---------------------------------------------------------------- linearly_separable


@pytest.mark.parametrize("d", [2, 5])
@pytest.mark.parametrize(("margin", "radius"), [(0.1, 1.0), (0.3, 2.0)])
def test_linearly_separable_plants_margin_and_radius(d, margin, radius):
    ds = data.linearly_separable(key=jax.random.key(d), n=200, d=d, margin=margin, radius=radius)
    X, y, w = np.asarray(ds.X), np.asarray(ds.y), np.asarray(ds.w_star)
    assert X.shape == (200, d) and y.shape == (200,) and w.shape == (d,)
    assert X.dtype == np.float64  # float64 under the test config: float(margin) is not rounded
    assert set(np.unique(y)) == {-1.0, 1.0}  # both classes present
    assert np.linalg.norm(w) == pytest.approx(1.0, rel=1e-14)
    signed = y * (X @ w)
    norms = np.linalg.norm(X, axis=1)
    # The guarantee, up to rounding of a float64 dot product (1e-12 ≪ any margin asked).
    assert np.all(signed >= margin - 1e-12)
    assert np.all(norms <= radius + 1e-12)
    # The returned fields are the achieved values, recomputed here independently.
    assert float(ds.margin) == pytest.approx(signed.min(), rel=1e-12)
    assert float(ds.radius) == pytest.approx(norms.max(), rel=1e-12)
    assert float(ds.mistake_bound) == pytest.approx((norms.max() / signed.min()) ** 2, rel=1e-10)
    # The planted normal really separates, and the data fill the ball (not a degenerate sample).
    np.testing.assert_array_equal(np.sign(X @ w), y)
    assert norms.max() > 0.8 * radius
    assert signed.min() < margin + 0.1 * (radius - margin)


def test_linearly_separable_dataset_property():
    ds = data.linearly_separable(key=KEY, n=200)
    X, y = ds.dataset
    assert isinstance(ds.dataset, data.Dataset)
    np.testing.assert_array_equal(X, ds.X)
    np.testing.assert_array_equal(y, ds.y)


def test_linearly_separable_under_jit_with_traced_margin_and_radius():
    make = jax.jit(
        lambda key, m, r: data.linearly_separable(key=key, n=200, d=5, margin=m, radius=r)
    )
    a = make(KEY, 0.1, 1.0)
    b = make(KEY, 0.25, 1.5)
    assert make._cache_size() <= 1  # a slider moving margin/radius does not recompile
    for ds, m, r in ((a, 0.1, 1.0), (b, 0.25, 1.5)):
        signed = np.asarray(ds.y * (ds.X @ ds.w_star))
        assert signed.min() >= m - 1e-12
        assert np.linalg.norm(np.asarray(ds.X), axis=1).max() <= r + 1e-12
    # The jitted call gives the same data as the eager one.
    eager = data.linearly_separable(key=KEY, n=200, d=5, margin=0.1, radius=1.0)
    np.testing.assert_allclose(a.X, eager.X, rtol=1e-14, atol=1e-15)


def test_linearly_separable_vmaps_over_keys_and_margins():
    keys = jax.random.split(KEY, 4)
    margins = jnp.array([0.05, 0.1, 0.2, 0.4])
    batch = jax.vmap(lambda k, m: data.linearly_separable(key=k, n=200, margin=m))(keys, margins)
    assert batch.X.shape == (4, 200, 2)
    signed = batch.y * jnp.einsum("bnd,bd->bn", batch.X, batch.w_star)
    assert np.all(np.asarray(signed.min(axis=1)) >= np.asarray(margins) - 1e-12)


def test_linearly_separable_errors():
    with pytest.raises(TypeError, match=r"`key` is required.*jax\.random\.key"):
        data.linearly_separable(key=None, n=10)
    with pytest.raises(TypeError, match=r"`key` must be a JAX random key"):
        data.linearly_separable(key=0, n=10)
    with pytest.raises(ValueError, match=r"`margin` must be smaller than `radius`"):
        data.linearly_separable(key=KEY, n=10, margin=1.0, radius=1.0)
    with pytest.raises(ValueError, match=r"`margin` must be smaller than `radius`"):
        data.linearly_separable(key=KEY, n=10, margin=2.0, radius=1.0)
    with pytest.raises(ValueError, match=r"`d` must be at least 2"):
        data.linearly_separable(key=KEY, n=10, d=1)
    with pytest.raises(ValueError, match=r"`n` must be a positive integer"):
        data.linearly_separable(key=KEY, n=0)
    with pytest.raises(TypeError, match=r"`n` must be a positive integer"):
        data.linearly_separable(key=KEY, n=2.5)
    with pytest.raises(ValueError, match=r"`margin` must be positive"):
        data.linearly_separable(key=KEY, n=10, margin=0.0)
    with pytest.raises(ValueError, match=r"`radius` must be positive"):
        data.linearly_separable(key=KEY, n=10, radius=-1.0)


def test_key_is_keyword_only():
    with pytest.raises(TypeError):
        data.linearly_separable(KEY, 10)  # type: ignore[misc]


# ---------------------------------------------------------------- XOR and friends


def test_xor_pm1_labels_are_the_product_of_coordinates():
    X, y = data.xor_pm1()
    X, y = np.asarray(X), np.asarray(y)
    assert X.shape == (4, 2) and y.shape == (4,)
    assert rows(X) == rows([[-1, -1], [-1, 1], [1, -1], [1, 1]])
    np.testing.assert_array_equal(y, X[:, 0] * X[:, 1])
    # Exercise 1.4: (-1,-1), (1,1) are +1; (1,-1), (-1,1) are -1.
    label = {tuple(x): t for x, t in zip(X.tolist(), y.tolist(), strict=True)}
    assert label[(-1.0, -1.0)] == label[(1.0, 1.0)] == 1.0
    assert label[(1.0, -1.0)] == label[(-1.0, 1.0)] == -1.0


def test_xor_01_labels():
    X, y = data.xor_01()
    X, y = np.asarray(X), np.asarray(y)
    assert X.shape == (4, 2) and rows(X) == rows([[0, 0], [0, 1], [1, 0], [1, 1]])
    # +1 exactly when the two bits differ (logical XOR).
    np.testing.assert_array_equal(y, np.where(X[:, 0] != X[:, 1], 1.0, -1.0))


def test_xor_is_not_linearly_separable_by_a_grid_of_lines():
    """No (w, b) on a fine grid classifies all four ±1-XOR points (Exercise 1.4)."""
    X, y = map(np.asarray, data.xor_pm1())
    g = np.linspace(-2, 2, 41)
    w1, w2, b = np.meshgrid(g, g, g, indexing="ij")
    scores = w1[..., None] * X[:, 0] + w2[..., None] * X[:, 1] + b[..., None]
    assert not np.any(np.all(np.sign(scores) == y, axis=-1))


def test_xor_blobs_labels_match_their_corners():
    n = 300
    X, y = map(np.asarray, data.xor_blobs(key=KEY, n=n, noise=0.0))
    assert X.shape == (n, 2) and y.shape == (n,)
    assert set(map(tuple, X.tolist())) == {(-1.0, -1.0), (-1.0, 1.0), (1.0, -1.0), (1.0, 1.0)}
    np.testing.assert_array_equal(y, X[:, 0] * X[:, 1])
    # With noise the label stays that of the corner; the corner is the nearest one.
    Xn, yn = map(np.asarray, data.xor_blobs(key=KEY, n=n, noise=0.2))
    corner = np.sign(Xn)  # noise 0.2 would need a 5σ draw to cross an axis
    np.testing.assert_array_equal(yn, corner[:, 0] * corner[:, 1])
    assert np.std(Xn - corner) == pytest.approx(0.2, rel=0.15)
    assert set(np.unique(yn)) == {-1.0, 1.0}


def test_xor_blobs_errors():
    with pytest.raises(TypeError, match=r"jax\.random\.key"):
        data.xor_blobs(key=None, n=10)
    with pytest.raises(ValueError, match=r"`noise`"):
        data.xor_blobs(key=KEY, n=10, noise=-0.1)


def test_above_diagonal_labels():
    X, y = map(np.asarray, data.above_diagonal(key=KEY, n=500))
    assert X.shape == (500, 2) and y.shape == (500,)
    assert np.all((X >= 0) & (X < 1))
    np.testing.assert_array_equal(y, np.where(X[:, 0] > X[:, 1], 1.0, -1.0))
    assert 0.4 < np.mean(y == 1) < 0.6
    with pytest.raises(TypeError, match=r"jax\.random\.key"):
        data.above_diagonal(key=None, n=10)


def test_add_bias():
    X = np.arange(6.0).reshape(3, 2)
    Xb = np.asarray(data.add_bias(X))
    assert Xb.shape == (3, 3)
    np.testing.assert_array_equal(Xb[:, :2], X)
    np.testing.assert_array_equal(Xb[:, 2], 1.0)
    # w·[x, 1] = w_{1:d}·x + b
    w, b = np.array([0.5, -2.0]), 3.0
    np.testing.assert_allclose(Xb @ np.append(w, b), X @ w + b)
    with pytest.raises(ValueError, match=r"`X` must be 2-dimensional"):
        data.add_bias(np.ones(3))


# ---------------------------------------------------------------- loader interface


def indexed_dataset(n, d=3):
    """Rows that are all different and a label tied to each row, to track where rows go."""
    X = np.arange(n * d, dtype=float).reshape(n, d)
    y = np.where(np.arange(n) % 3 == 0, 1.0, -1.0)
    return data.Dataset(jnp.asarray(X), jnp.asarray(y))


def pairs(X, y):
    return sorted(
        (tuple(x), t) for x, t in zip(np.asarray(X).tolist(), np.asarray(y).tolist(), strict=True)
    )


@pytest.mark.parametrize(
    ("n", "fraction", "n_test"), [(20, 0.25, 5), (20, 0.5, 10), (20, 0.01, 1), (20, 0.99, 19)]
)
def test_train_test_split(n, fraction, n_test):
    ds = indexed_dataset(n)
    train, test = data.train_test_split(ds, key=KEY, test_fraction=fraction)
    assert isinstance(train, data.Dataset) and isinstance(test, data.Dataset)
    assert test.X.shape == (n_test, 3) and test.y.shape == (n_test,)
    assert train.X.shape == (n - n_test, 3) and train.y.shape == (n - n_test,)
    train_rows, test_rows = set(rows(train.X)), set(rows(test.X))
    assert not train_rows & test_rows  # disjoint
    assert rows(np.concatenate([train.X, test.X])) == rows(ds.X)  # union is the original
    # Each label travels with its row.
    assert pairs(np.concatenate([train.X, test.X]), np.concatenate([train.y, test.y])) == pairs(*ds)


def test_train_test_split_shuffles_by_key():
    ds = indexed_dataset(20)
    a = data.train_test_split(ds, key=jax.random.key(1))
    b = data.train_test_split(ds, key=jax.random.key(1))
    c = data.train_test_split(ds, key=jax.random.key(2))
    np.testing.assert_array_equal(a[1].X, b[1].X)
    assert rows(a[1].X) != rows(c[1].X)
    n_test = a[1].X.shape[0]
    assert rows(a[1].X) != rows(ds.X[:n_test])  # not simply the first rows
    assert rows(a[1].X) != rows(ds.X[-n_test:])  # nor the last ones


def test_train_test_split_errors():
    ds = indexed_dataset(20)
    with pytest.raises(TypeError, match=r"jax\.random\.key"):
        data.train_test_split(ds, key=None)
    with pytest.raises(ValueError, match=r"`test_fraction`"):
        data.train_test_split(ds, key=KEY, test_fraction=1.5)
    with pytest.raises(ValueError, match=r"at least 2"):
        data.train_test_split(indexed_dataset(1), key=KEY)
    with pytest.raises(ValueError, match=r"`data.X` and `data.y`.*same number of rows.*20 and 19"):
        data.train_test_split(data.Dataset(ds.X, ds.y[:19]), key=KEY)
    with pytest.raises(TypeError, match=r"`data` must be a Dataset"):
        data.train_test_split(ds.X, key=KEY)


@pytest.mark.parametrize(("n", "batch_size"), [(20, 5), (20, 3), (20, 20)])
def test_minibatches(n, batch_size):
    ds = indexed_dataset(n)
    mb = data.minibatches(ds, key=KEY, batch_size=batch_size)
    nb = n // batch_size
    assert mb.X.shape == (nb, batch_size, 3) and mb.y.shape == (nb, batch_size)
    flat_X = np.asarray(mb.X).reshape(-1, 3)
    flat_y = np.asarray(mb.y).reshape(-1)
    # A permutation of a subset: no row repeated, every row from the data, labels attached.
    assert len(set(rows(flat_X))) == nb * batch_size
    assert set(rows(flat_X)) <= set(rows(ds.X))
    assert set(pairs(flat_X, flat_y)) <= set(pairs(*ds))
    # Shuffled, deterministically.
    again = data.minibatches(ds, key=KEY, batch_size=batch_size)
    np.testing.assert_array_equal(again.X, mb.X)
    other = data.minibatches(ds, key=jax.random.key(5), batch_size=batch_size)
    assert not np.array_equal(other.X, mb.X)


def test_minibatches_errors():
    ds = indexed_dataset(10)
    with pytest.raises(TypeError, match=r"jax\.random\.key"):
        data.minibatches(ds, key=None, batch_size=2)
    with pytest.raises(ValueError, match=r"`batch_size` \(11\) is larger than the dataset"):
        data.minibatches(ds, key=KEY, batch_size=11)
    with pytest.raises(ValueError, match=r"`batch_size`"):
        data.minibatches(ds, key=KEY, batch_size=0)
    with pytest.raises(TypeError, match=r"`batch_size`"):
        data.minibatches(ds, key=KEY, batch_size=2.5)
    with pytest.raises(ValueError, match=r"same number of rows"):
        data.minibatches(data.Dataset(ds.X[:5], ds.y[:4]), key=KEY, batch_size=2)


def test_blobs_points_lie_near_their_class_centre():
    centers = jnp.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]])
    ds = data.blobs(key=KEY, n=400, centers=centers, spread=0.5)
    assert ds.X.shape == (400, 2) and ds.y.shape == (400,) and ds.y.dtype == jnp.int32
    assert set(np.asarray(ds.y).tolist()) == {0, 1, 2, 3}
    # Every point is nearest to its own centre (the blobs are 20 standard deviations apart).
    dist = np.linalg.norm(np.asarray(ds.X)[:, None, :] - np.asarray(centers)[None], axis=2)
    np.testing.assert_array_equal(dist.argmin(axis=1), ds.y)
    # The spread is the per-coordinate standard deviation around the centre.
    resid = np.asarray(ds.X) - np.asarray(centers)[np.asarray(ds.y)]
    assert abs(resid.std() - 0.5) < 0.05
    default = data.blobs(key=KEY, n=30)
    assert default.X.shape == (30, 2) and int(default.y.max()) <= 2
    np.testing.assert_array_equal(data.blobs(key=KEY, n=30).X, default.X)


def test_blobs_errors():
    with pytest.raises(ValueError, match=r"`centers` needs at least 2 rows"):
        data.blobs(key=KEY, n=10, centers=[[0.0, 1.0]])
    with pytest.raises(ValueError, match=r"`spread`"):
        data.blobs(key=KEY, n=10, spread=-1.0)
    with pytest.raises(ValueError, match=r"`centers`"):
        data.blobs(key=KEY, n=10, centers=[0.0, 1.0])


def test_digits_are_scikit_learns_images_scaled_to_unit_interval():
    from sklearn.datasets import load_digits

    ds = data.digits()
    raw = load_digits()
    assert ds.X.shape == (1797, 64) and ds.y.shape == (1797,) and ds.y.dtype == jnp.int32
    assert float(ds.X.min()) == 0.0 and float(ds.X.max()) == 1.0
    np.testing.assert_allclose(np.asarray(ds.X) * 16.0, raw.data, atol=1e-5)
    np.testing.assert_array_equal(ds.y, raw.target)
    assert np.bincount(np.asarray(ds.y)).min() >= 170  # about 180 of each digit


def test_english_text_is_offline_prose():
    text = data.english_text()
    words = text.split()
    assert len(text) > 400_000 and len(words) > 60_000
    assert text == data.english_text()  # deterministic order
    common = {w.lower() for w in words}
    assert {"the", "of", "and", "function", "object"} <= common


CODE_SYMBOLS = set("{}[]=<>|#\\@")


def _code_symbol_share(text):
    return sum(ch in CODE_SYMBOLS for ch in text) / len(text)


def test_english_prose_is_deterministic_and_large_enough():
    text = data.english_prose()
    assert text == data.english_prose()
    assert 250_000 < len(text) < 400_000, len(text)
    assert len(text.split()) > 40_000
    assert len(set(text)) < 120  # a character vocabulary, not arbitrary bytes


def test_english_prose_has_no_code_lines():
    """Every line is one paragraph of prose: no session prompts, grammar rules, indentation,
    headings or bullets; mostly plain words; ends like a sentence."""
    lines = data.english_prose().split("\n")
    assert len(lines) > 1000
    for line in lines:
        assert line == line.strip() and "  " not in line, line[:80]
        assert ">>>" not in line and "::=" not in line and not line.startswith(("...", "* ")), line
        tokens = line.split()
        words = [t for t in tokens if data._PLAIN_WORD.fullmatch(t)]
        assert len(tokens) >= 8 and len(words) >= 0.75 * len(tokens), line[:80]
        assert line[-1] in '.?!:)”"’]', line[-80:]
    # the filter did something measurable: symbols typical of code are rare, far rarer than in
    # the raw help topics (the code samples are gone)
    prose, raw = data.english_prose(), data.english_text()
    assert ">>>" in raw and "::=" in raw
    assert _code_symbol_share(prose) < 0.005 < 0.5 * _code_symbol_share(raw)


def test_english_prose_keeps_paragraphs_and_drops_their_code():
    text = data.english_prose()
    # from help("for"): its first paragraph of prose stays, the code sample after it goes
    assert 'The "for" statement is used to iterate over the elements of a sequence' in text
    assert "for i in range(10):" not in text and "print(i)" not in text
    assert "for_stmt" not in text  # its grammar rule
    # a word hyphenated across a line break is mended, emphasis stars are gone
    assert "reference- counting" not in text and "operator overloading" in text


# ---------------------------------------------------------------------- chapter 2b generators


def test_swiss_roll_lies_on_its_planted_sheet():
    ds = data.swiss_roll(key=KEY, n=300, noise=0.0)
    tau = 2 * np.pi * 1.25
    t = np.asarray(ds.y) * tau
    X = np.asarray(ds.X)
    np.testing.assert_allclose(X[:, 0], t * np.cos(t) / tau, atol=1e-5)
    np.testing.assert_allclose(X[:, 2], t * np.sin(t) / tau, atol=1e-5)
    assert np.all(np.abs(X[:, 1]) <= 1) and X.shape == (300, 3)
    with pytest.raises(ValueError, match="`noise` must be non-negative"):
        data.swiss_roll(key=KEY, n=5, noise=-1.0)


def test_planted_ratings_are_low_rank_plus_noise():
    r = data.planted_ratings(key=KEY, n_users=30, n_items=20, rank=2, noise=0.0, observed=0.5)
    s = np.linalg.svd(np.asarray(r.R) - 3.0, compute_uv=False)
    assert s[2] < 1e-4 * s[0]  # exactly rank 2 without noise
    np.testing.assert_allclose(np.asarray(r.mask + r.test_mask), 1.0)
    assert 0.35 < float(r.mask.mean()) < 0.65
    with pytest.raises(ValueError, match="`observed` must lie in"):
        data.planted_ratings(key=KEY, observed=1.5)


def test_planted_corpus_follows_its_grammar():
    c = data.planted_corpus(key=KEY, n_sentences=200)
    assert c.tokens == data.planted_corpus(key=KEY, n_sentences=200).tokens
    classes = set(c.word_class.values())
    assert classes == {"animal", "food", "furniture", "color", "person"}
    # every "eats" is followed by "the" and a food, and preceded by an animal
    for i, w in enumerate(c.tokens):
        if w == "eats":
            assert c.word_class[c.tokens[i - 1]] == "animal"
            assert c.tokens[i + 1] == "the" and c.word_class[c.tokens[i + 2]] == "food"
    assert set(c.word_class) <= set(c.tokens)


def test_two_communities_errors():
    with pytest.raises(ValueError, match="`n` must be at least 4"):
        data.two_communities(key=KEY, n=3)
    with pytest.raises(ValueError, match="`p_in` must lie in"):
        data.two_communities(key=KEY, p_in=2.0)


def test_epoch_orders_are_keyed_permutations_one_per_epoch():
    orders = np.asarray(data.epoch_orders(key=KEY, n=7, epochs=4))
    assert orders.shape == (4, 7)
    for row in orders:
        assert sorted(row.tolist()) == list(range(7))
    assert len({tuple(r) for r in orders.tolist()}) > 1  # epochs are shuffled differently
    np.testing.assert_array_equal(data.epoch_orders(key=KEY, n=7, epochs=4), orders)
    with pytest.raises(ValueError, match=r"`epochs`"):
        data.epoch_orders(key=KEY, n=7, epochs=0)
    with pytest.raises(TypeError, match=r"jax\.random\.key"):
        data.epoch_orders(key=None, n=7, epochs=2)


# ------------------------------------------------------------------ ch08a additions


def test_photo_is_a_grey_float32_image_in_unit_range():
    import matplotlib.cbook
    import matplotlib.image

    full = np.asarray(data.photo())
    assert full.shape == (600, 512) and full.dtype == np.float32
    assert 0.0 <= full.min() < 0.1 and 0.9 < full.max() <= 1.0
    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as f:
        rgb = matplotlib.image.imread(f).astype(np.float64) / 255.0
    # luminance of one pixel, by hand
    r, g, b = rgb[123, 45]
    assert abs(full[123, 45] - (0.299 * r + 0.587 * g + 0.114 * b)) < 1e-6
    half = np.asarray(data.photo(downsample=2))
    assert half.shape == (300, 256)
    np.testing.assert_allclose(half[10, 20], full[20:22, 40:42].mean(), atol=1e-6)
    assert np.asarray(data.photo(downsample=7)).shape == (85, 73)  # cropped to a multiple of 7


def test_photo_validation():
    with pytest.raises(TypeError, match="`downsample` must be a positive integer"):
        data.photo(downsample=1.5)
    with pytest.raises(ValueError, match="`downsample` must be at most 64"):
        data.photo(downsample=100)
