"""Tests for course_lib.rnn: RNN forward, hand BPTT, truncation, Jacobian norms, ESN, LSTM/GRU."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import optim, rnn

KEY = jax.random.key(0)


@pytest.fixture
def toy():
    xs, targets = rnn.toy_language_model_data()
    params = rnn.init(key=KEY, input_dim=4, hidden_dim=3, output_dim=4, scale=2.0)
    params = params._replace(
        b_h=jax.random.normal(jax.random.key(5), (3,)) * 0.3,
        b_y=jax.random.normal(jax.random.key(6), (4,)) * 0.3,
    )
    h0 = jax.random.normal(jax.random.key(7), (3,)) * 0.5
    return params, xs, targets, h0


def _long(T=9, p=4, d=3, q=5, seed=1):
    k = jax.random.split(jax.random.key(seed), 3)
    params = rnn.init(key=k[0], input_dim=d, hidden_dim=p, output_dim=q, scale=1.5)
    xs = jax.random.normal(k[1], (T, d))
    targets = jax.random.randint(k[2], (T,), 0, q)
    return params, xs, targets


# ------------------------------------------------------------------------------ toy and forward


def test_toy_data_matches_the_sentence():
    xs, targets = rnn.toy_language_model_data()
    assert xs.shape == (4, 4)
    words_in = [rnn.TOY_VOCAB[i] for i in np.argmax(np.asarray(xs), axis=1)]
    words_out = [rnn.TOY_VOCAB[i] for i in np.asarray(targets)]
    assert words_in == ["the", "cat", "chased", "the"]
    assert words_out == ["cat", "chased", "the", "mouse"]
    assert np.all(np.asarray(xs).sum(axis=1) == 1)


def test_forward_equals_python_loop(toy):
    params, xs, _, h0 = toy
    hs, ys = rnn.forward(params, xs, h0)
    W_xh, W_hh, W_hy, b_h, b_y = (np.asarray(a) for a in params)
    h = np.asarray(h0)
    for t in range(xs.shape[0]):
        h = np.tanh(W_xh @ np.asarray(xs[t]) + W_hh @ h + b_h)
        np.testing.assert_allclose(hs[t], h, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(ys[t], W_hy @ h + b_y, rtol=1e-12, atol=1e-12)


def test_onehot_input_selects_a_column(toy):
    params, xs, _, _ = toy
    np.testing.assert_array_equal(params.W_xh @ xs[1], params.W_xh[:, 1])


def test_causality_future_input_does_not_change_past_state(toy):
    params, xs, _, h0 = toy
    J = jax.jacobian(lambda x: rnn.forward(params, x, h0)[0][1])(xs)  # d h_2 / d xs
    assert np.all(np.asarray(J[:, 2:]) == 0.0)
    assert np.any(np.asarray(J[:, :2]) != 0.0)


def test_sequence_loss_is_sum_of_step_cross_entropies(toy):
    params, xs, targets, h0 = toy
    _, ys = rnn.forward(params, xs, h0)
    ys = np.asarray(ys)
    p = np.exp(ys - ys.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    want = -np.sum(np.log(p[np.arange(4), np.asarray(targets)]))
    np.testing.assert_allclose(rnn.sequence_loss(params, xs, targets, h0), want, rtol=1e-12)


def test_rnn_learns_the_toy_but_a_bigram_cannot():
    xs, targets = rnn.toy_language_model_data()
    params = rnn.init(key=KEY, input_dim=4, hidden_dim=4, output_dim=4)
    tx = optim.adam(0.05)
    state = tx.init(params)

    @jax.jit
    def step(params, state):
        _, g = rnn.bptt(params, xs, targets)
        u, state = tx.update(g, state, params)
        return optim.apply_updates(params, u), state

    for _ in range(300):
        params, state = step(params, state)
    _, ys = rnn.forward(params, xs)
    assert np.all(np.argmax(np.asarray(ys), axis=1) == np.asarray(targets))
    # bigram: the best prediction depends only on the current word; "the" has two successors
    ins = np.argmax(np.asarray(xs), axis=1)
    correct = 0
    for w in set(ins.tolist()):
        succ = np.asarray(targets)[ins == w]
        correct += np.max(np.bincount(succ))
    assert correct / 4 == 0.75


# ------------------------------------------------------------------------------ BPTT


def test_bptt_equals_jax_grad(toy):
    params, xs, targets, h0 = toy
    loss, g = rnn.bptt(params, xs, targets, h0)
    ref_loss, ref = jax.value_and_grad(rnn.sequence_loss)(params, xs, targets, h0)
    np.testing.assert_allclose(loss, ref_loss, rtol=1e-12)
    for name in rnn.RNNParams._fields:
        np.testing.assert_allclose(getattr(g, name), getattr(ref, name), rtol=1e-10, atol=1e-12)


def test_bptt_equals_finite_differences(toy, fd_gradient):
    params, xs, targets, h0 = toy
    _, g = rnn.bptt(params, xs, targets, h0)
    for name in rnn.RNNParams._fields:

        @jax.jit
        def f(w, name=name):
            return rnn.sequence_loss(params._replace(**{name: jnp.asarray(w)}), xs, targets, h0)

        fd = fd_gradient(f, np.asarray(getattr(params, name)))
        np.testing.assert_allclose(getattr(g, name), fd, rtol=1e-6, atol=1e-8)


def test_shared_weight_gradient_is_sum_of_untied_copies():
    params, xs, targets = _long()
    T = xs.shape[0]

    def untied_loss(stacked):  # one copy of every parameter per time step
        def step(h, inp):
            P, x = inp
            h = jnp.tanh(P.W_xh @ x + P.W_hh @ h + P.b_h)
            return h, P.W_hy @ h + P.b_y

        _, ys = jax.lax.scan(step, jnp.zeros(4), (stacked, xs))
        logp = jax.nn.log_softmax(ys, axis=-1)
        return -jnp.sum(logp[jnp.arange(T), targets])

    stacked = jax.tree.map(lambda a: jnp.broadcast_to(a, (T, *a.shape)), params)
    per_step = jax.grad(untied_loss)(stacked)
    _, g = rnn.bptt(params, xs, targets)
    for name in rnn.RNNParams._fields:
        copies = np.asarray(getattr(per_step, name))
        assert not np.allclose(copies[0], copies[-1])  # the copies really differ
        np.testing.assert_allclose(copies.sum(0), getattr(g, name), rtol=1e-10, atol=1e-12)


def test_truncated_equals_full_when_k_at_least_T():
    params, xs, targets = _long()
    _, full = rnn.bptt(params, xs, targets)
    for k in (9, 20):
        tr = jax.grad(rnn.truncated_loss)(params, xs, targets, k)
        _, hand = rnn.bptt(params, xs, targets, truncate=k)
        for name in rnn.RNNParams._fields:
            np.testing.assert_allclose(getattr(tr, name), getattr(full, name), rtol=1e-10)
            np.testing.assert_allclose(getattr(hand, name), getattr(full, name), rtol=1e-10)


def test_truncated_differs_when_k_below_T_and_hand_version_agrees():
    params, xs, targets = _long()
    np.testing.assert_allclose(
        rnn.truncated_loss(params, xs, targets, 3), rnn.sequence_loss(params, xs, targets)
    )
    _, full = rnn.bptt(params, xs, targets)
    tr = jax.grad(rnn.truncated_loss)(params, xs, targets, 3)
    _, hand = rnn.bptt(params, xs, targets, truncate=3)
    assert not np.allclose(tr.W_hh, full.W_hh, rtol=1e-3)
    # output weights see no recurrence: identical under truncation
    np.testing.assert_allclose(tr.W_hy, full.W_hy, rtol=1e-12)
    for name in rnn.RNNParams._fields:
        np.testing.assert_allclose(getattr(hand, name), getattr(tr, name), rtol=1e-10, atol=1e-13)


# -------------------------------------------------------------------------- vanishing / exploding


def test_recurrent_matrix_has_requested_spectral_radius():
    for normal in (False, True):
        W = rnn.recurrent_matrix(key=KEY, size=12, spectral_radius=0.7, normal=normal)
        rho = np.max(np.abs(np.linalg.eigvals(np.asarray(W))))
        np.testing.assert_allclose(rho, 0.7, rtol=1e-10)
        np.testing.assert_allclose(rnn.spectral_radius(W), rho, rtol=1e-12)
    W = np.asarray(rnn.recurrent_matrix(key=KEY, size=12, spectral_radius=0.7, normal=True))
    np.testing.assert_allclose(W @ W.T, W.T @ W, atol=1e-12)  # normal


def _with_W(W, T=15, p=6, seed=3):
    params = rnn.init(key=jax.random.key(seed), input_dim=2, hidden_dim=p, output_dim=1)
    xs = 0.5 * jax.random.normal(jax.random.key(seed + 1), (T, 2))
    return params._replace(W_hh=W), xs


def test_jacobian_norms_linear_normal_are_rho_powers():
    T = 15
    for rho in (0.8, 1.25):
        W = rnn.recurrent_matrix(key=KEY, size=6, spectral_radius=rho, normal=True)
        params, xs = _with_W(W, T)
        norms = rnn.hidden_jacobian_norms(params, xs, activation="linear")
        np.testing.assert_allclose(norms, rho ** (T - np.arange(T + 1)), rtol=1e-9)


def test_jacobian_norms_match_jax_jacobian():
    W = rnn.recurrent_matrix(key=KEY, size=6, spectral_radius=1.5)
    params, xs = _with_W(W)
    norms = rnn.hidden_jacobian_norms(params, xs)
    hs, _ = rnn.forward(params, xs)
    t = 10  # d h_T / d h_t: rerun the last T - t steps from h_t
    J = jax.jacobian(lambda h: rnn.forward(params, xs[t:], h)[0][-1])(hs[t - 1])
    np.testing.assert_allclose(norms[t], np.linalg.norm(np.asarray(J), 2), rtol=1e-10)


def test_tanh_norms_vanish_below_one_and_can_grow_above():
    small = rnn.recurrent_matrix(key=KEY, size=6, spectral_radius=0.9)
    params, xs = _with_W(small, T=40)
    n = np.asarray(rnn.hidden_jacobian_norms(params, xs))
    assert n[0] < 1e-2 < n[-1]
    big = rnn.recurrent_matrix(key=KEY, size=6, spectral_radius=3.0, normal=True)
    params, xs = _with_W(big, T=4)
    params = params._replace(W_xh=0.0 * params.W_xh)  # h stays at 0: tanh' = 1, pure growth
    n = np.asarray(rnn.hidden_jacobian_norms(params, xs))
    assert n[0] > 20.0
    np.testing.assert_allclose(n[0], 3.0**4, rtol=1e-10)


def test_nonnormal_parts_keep_the_radius_and_raise_the_norm():
    for size in (3, 4, 5, 16):
        Q, N = (np.asarray(a) for a in rnn.nonnormal_parts(key=KEY, size=size))
        np.testing.assert_allclose(Q @ Q.T, np.eye(size), atol=1e-12)  # orthogonal
        for shear in (0.0, 0.5, 2.0):
            W = 0.9 * Q + shear * N
            np.testing.assert_allclose(rnn.spectral_radius(W), 0.9, rtol=1e-8)
        assert np.linalg.norm(0.9 * Q + N, 2) > 1.0  # non-normal: norm above the radius
        np.testing.assert_allclose(np.linalg.matrix_power(N, size), 0.0, atol=1e-12)  # nilpotent


def test_nonnormal_whh_gradient_grows_before_it_decays_within_the_norm_bound():
    """Oracle for the non-normal case (issue 14): jax.jacobian of h_T with respect to h_t, and a
    NumPy product of the per-step Jacobians diag(1 - h_s^2) W, agree with the library; the
    spectral-norm bound prod_s max(1 - h_s^2) ||W||_2 holds; the norm exceeds 1 at some
    T - t although rho(W) < 1, which the spectral radius alone would not allow."""
    p, T = 16, 40
    Q, N = rnn.nonnormal_parts(key=jax.random.key(11), size=p)
    W = 0.9 * Q + 1.0 * N
    params, xs = _with_W(W, T=T, p=p, seed=12)
    xs = 0.2 * xs  # weak inputs: tanh stays near its linear range
    hs = np.asarray(rnn.forward(params, xs)[0])
    Wn = np.asarray(W)
    M, direct = np.eye(p), [1.0]
    for s in range(T - 1, -1, -1):  # hs[s] is h_(s+1)
        M = M @ (np.diag(1.0 - hs[s] ** 2) @ Wn)
        direct.append(np.linalg.norm(M, 2))
    direct = np.array(direct[::-1])  # entry t: ||d h_T / d h_t||
    np.testing.assert_allclose(np.asarray(rnn.hidden_jacobian_norms(params, xs)), direct, rtol=1e-9)
    for t in (1, 20, 36):
        J = jax.jacobian(lambda h, t=t: rnn.forward(params, xs[t:], h)[0][-1])(hs[t - 1])
        np.testing.assert_allclose(np.linalg.norm(np.asarray(J), 2), direct[t], rtol=1e-9)
    rho, norm = rnn.spectral_radius(Wn), np.linalg.norm(Wn, 2)
    assert rho < 0.9 + 1e-9 and norm > 1.2
    gamma = np.max(1.0 - hs**2, axis=1)  # ||D_s||_2, s = 1..T
    bound = np.append(np.cumprod((gamma * norm)[::-1])[::-1], 1.0)
    assert np.all(direct <= bound * (1 + 1e-12)) and np.all(bound <= norm ** (T - np.arange(T + 1)))
    assert direct.max() > 1.5  # transient growth of the backpropagated factor ...
    assert np.any(direct > 1.5 * 0.9 ** (T - np.arange(T + 1)))  # ... beyond rho^(T-t)
    assert direct[0] < direct.max() / 5  # ... before the decay at rate rho takes over


def test_tanh_product_can_exceed_the_linear_one_for_a_nonnormal_w():
    """W = 0.75 [[1, 1], [-1, -1]] is nilpotent: W^2 = 0. With tanh, D_2 W D_1 W is not 0."""
    W = 0.75 * jnp.array([[1.0, 1.0], [-1.0, -1.0]])  # exact in binary: W @ W is exactly 0
    params = rnn.RNNParams(jnp.eye(2), W, jnp.zeros((1, 2)), jnp.zeros(2), jnp.zeros(1))
    xs = jnp.array([[0.8, -0.3], [0.2, 1.1]])
    lin = np.asarray(rnn.hidden_jacobian_norms(params, xs, activation="linear"))
    th = np.asarray(rnn.hidden_jacobian_norms(params, xs))
    assert lin[0] == 0.0 and th[0] > 0.05


def test_truncated_forward_cuts_dependencies_longer_than_a_segment():
    params, xs, _ = _long(T=12)
    hs, ys = rnn.forward(params, xs)
    for k in (1, 3, 12):
        hs_t, ys_t = rnn.truncated_forward(params, xs, k)
        np.testing.assert_array_equal(hs_t, hs)  # same values
        J = np.asarray(jax.jacobian(lambda x, k=k: rnn.truncated_forward(params, x, k)[1])(xs))
        for t in range(12):
            for s in range(12):
                reaches = s <= t and s // k == t // k  # same segment, not in the future
                assert bool(np.any(J[t, :, s, :] != 0.0)) == reaches, (k, t, s)


def test_per_segment_truncated_bptt_is_the_book_algorithm():
    """One Adam step per segment from the carried state, the same as a loop written out here;
    with a learning rate of 0 the summed segment gradients are jax.grad of truncated_loss."""
    params, xs, targets = _long(T=12)
    k, lr = 4, 0.05
    got, losses, h_last = rnn.train_truncated_bptt(params, xs, targets, k=k, learning_rate=lr)
    tx = optim.adam(lr)
    p, state, h = params, tx.init(params), jnp.zeros(params.W_hh.shape[0])
    for j in range(3):
        seg = slice(j * k, (j + 1) * k)
        loss, g = jax.value_and_grad(rnn.sequence_loss)(p, xs[seg], targets[seg], h)
        np.testing.assert_allclose(float(losses[j]), float(loss), rtol=1e-12)
        h = rnn.forward(p, xs[seg], h)[0][-1]  # the state with the weights of this segment
        upd, state = tx.update(g, state, p)
        p = optim.apply_updates(p, upd)
    for a, b in zip(got, p, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(h_last, h, rtol=1e-10)
    hs = rnn.forward(params, xs)[0]
    starts = jnp.concatenate([jnp.zeros((1, 4)), hs])
    parts = [
        jax.grad(rnn.sequence_loss)(params, xs[s : s + k], targets[s : s + k], starts[s])
        for s in range(0, 12, k)
    ]
    summed = jax.tree.map(lambda *g: sum(g), *parts)
    want = jax.grad(rnn.truncated_loss)(params, xs, targets, k)
    for a, b in zip(summed, want, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-14)


def test_train_truncated_bptt_learns_a_short_delay_and_compiles_once_per_k():
    xs, ys = rnn.delayed_copy_data(key=KEY, length=2400, delay=4)
    np.testing.assert_array_equal(np.asarray(ys[4:]), np.asarray(xs[:-4, 0] > 0))
    params = rnn.init(key=jax.random.key(5), input_dim=1, hidden_dim=16, output_dim=2)
    trained, losses, _ = rnn.train_truncated_bptt(params, xs, ys, k=8, learning_rate=0.01)
    n = rnn.train_truncated_bptt_cache_size()
    rnn.train_truncated_bptt(params, xs, ys, k=8, learning_rate=0.02)
    assert rnn.train_truncated_bptt_cache_size() == n  # the learning rate is traced
    xv, yv = rnn.delayed_copy_data(key=jax.random.key(6), length=500, delay=4)
    pred = np.argmax(np.asarray(rnn.forward(trained, xv)[1]), axis=1)
    assert np.mean(pred[4:] == np.asarray(yv)[4:]) > 0.99
    assert float(np.mean(losses[-20:])) < 0.1 * float(np.mean(losses[:20]))


def test_mackey_glass_is_sensitive_to_its_start():
    a = np.asarray(rnn.mackey_glass(3000))
    b = np.asarray(rnn.mackey_glass(3000, initial=1.2 + 1e-12))
    d = np.abs(a - b)
    assert d[:100].max() < 1e-10 and d[2500:].max() > 1e-3  # growth by > 1e9: chaos
    assert 0.2 < a[200:].min() and a.max() < 1.6  # bounded


def test_clipping_helpers():
    g = {"a": jnp.array([3.0, -4.0]), "b": jnp.array([0.5])}
    cv = rnn.clip_by_value(g, 1.0)
    np.testing.assert_allclose(cv["a"], [1.0, -1.0])
    np.testing.assert_allclose(cv["b"], [0.5])
    cn = rnn.clip_by_norm(g, 1.0)
    total = np.sqrt(9 + 16 + 0.25)
    np.testing.assert_allclose(cn["a"], np.array([3.0, -4.0]) / total, rtol=1e-12)
    np.testing.assert_allclose(optim.global_norm(cn), 1.0, rtol=1e-12)


# ------------------------------------------------------------------------------ echo-state network


def test_ridge_readout_matches_numpy_lstsq():
    rng = np.random.default_rng(0)
    H, Y = rng.normal(size=(50, 5)), rng.normal(size=(50, 2))
    W = rnn.ridge_readout(H, Y, ridge=0.0)
    S = np.hstack([H, np.ones((50, 1))])
    np.testing.assert_allclose(W, np.linalg.lstsq(S, Y, rcond=None)[0], rtol=1e-8)
    lam = 0.3
    W = rnn.ridge_readout(H, Y[:, 0], ridge=lam)
    want = np.linalg.solve(S.T @ S + lam * np.eye(6), S.T @ Y[:, 0])
    np.testing.assert_allclose(W, want, rtol=1e-10)
    np.testing.assert_allclose(rnn.readout_predict(H, W), S @ want, rtol=1e-10)


def test_esn_one_step_prediction_beats_naive_baseline():
    series = rnn.mackey_glass(1200)
    assert np.std(np.asarray(series)[200:]) > 0.05  # not a constant
    x, y = series[:-1, None], series[1:]
    esn = rnn.esn_init(key=KEY, input_dim=1, reservoir_size=100, spectral_radius=0.9)
    assert abs(rnn.spectral_radius(esn.W_res) - 0.9) < 1e-9
    H = rnn.esn_states(esn, x)
    washout, split = 100, 800
    W = rnn.ridge_readout(H[washout:split], y[washout:split], ridge=1e-8)
    pred = rnn.readout_predict(H[split:], W)
    mse = float(np.mean((np.asarray(pred) - np.asarray(y[split:])) ** 2))
    naive = float(np.mean((np.asarray(x[split:, 0]) - np.asarray(y[split:])) ** 2))
    assert mse < 0.01 * naive


# ------------------------------------------------------------------------------ LSTM and GRU


@pytest.fixture
def lstm():
    params = rnn.lstm_init(key=KEY, input_dim=3, hidden_dim=4, output_dim=2)
    k = jax.random.split(jax.random.key(9), 3)
    params = params._replace(b=jax.random.normal(k[0], (16,)) * 0.3)
    x, h, c = (jax.random.normal(kk, (n,)) for kk, n in zip(k, (3, 4, 4), strict=True))
    return params, x, h, c


def test_lstm_cell_equations(lstm):
    params, x, h, c = lstm
    z = np.concatenate([x, h]) @ np.asarray(params.W) + np.asarray(params.b)
    sig = 1 / (1 + np.exp(-z))
    i, f, o, g = sig[:4], sig[4:8], sig[8:12], np.tanh(z[12:])
    c_new = f * np.asarray(c) + i * g
    h_out, c_out = rnn.lstm_cell(params, (h, c), x)
    np.testing.assert_allclose(c_out, c_new, rtol=1e-12)
    np.testing.assert_allclose(h_out, o * np.tanh(c_new), rtol=1e-12)


def test_lstm_update_on_a_batch_equals_the_cell_row_by_row(lstm):
    params, _, _, _ = lstm
    k = jax.random.split(jax.random.key(10), 3)
    X, H, C = (jax.random.normal(kk, (5, n)) for kk, n in zip(k, (3, 4, 4), strict=True))
    Z = jnp.concatenate([X, H], axis=1) @ params.W + params.b[None, :]
    h_new, c_new = rnn.lstm_update(Z, C)
    assert h_new.shape == c_new.shape == (5, 4)
    for r in range(5):
        h_r, c_r = rnn.lstm_cell(params, (H[r], C[r]), X[r])
        np.testing.assert_allclose(h_new[r], h_r, rtol=1e-12)
        np.testing.assert_allclose(c_new[r], c_r, rtol=1e-12)


def test_forget_gate_is_the_cell_state_jacobian(lstm):
    params, x, h, c = lstm
    J = jax.jacobian(lambda cc: rnn.lstm_cell(params, (h, cc), x)[1])(c)
    f = rnn.lstm_gates(params, h, x).f
    np.testing.assert_allclose(J, np.diag(np.asarray(f)), rtol=1e-12, atol=1e-15)
    # through h the gates do move: the full Jacobian w.r.t. h is not diagonal
    Jh = jax.jacobian(lambda hh: rnn.lstm_cell(params, (hh, c), x)[1])(h)
    assert np.abs(np.asarray(Jh) - np.diag(np.diag(np.asarray(Jh)))).max() > 1e-3


def test_gru_cell_equations():
    params = rnn.gru_init(key=KEY, input_dim=3, hidden_dim=4, output_dim=2)
    x, h = jax.random.normal(jax.random.key(1), (3,)), jax.random.normal(jax.random.key(2), (4,))
    zr = 1 / (1 + np.exp(-(np.concatenate([x, h]) @ np.asarray(params.W_zr))))
    z, r = zr[:4], zr[4:]
    n = np.tanh(np.concatenate([x, r * np.asarray(h)]) @ np.asarray(params.W_n))
    np.testing.assert_allclose(rnn.gru_cell(params, h, x), z * h + (1 - z) * n, rtol=1e-12)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_gated_gradients_vs_finite_differences(kind, fd_gradient):
    init = rnn.lstm_init if kind == "lstm" else rnn.gru_init
    params = init(key=KEY, input_dim=2, hidden_dim=3, output_dim=2)
    xs, ys = rnn.remember_first_bit_data(key=jax.random.key(4), n=3, gap=4)
    g = jax.grad(rnn.classification_loss)(params, xs, ys)
    for name in params._fields:

        @jax.jit
        def f(w, name=name):
            return rnn.classification_loss(params._replace(**{name: jnp.asarray(w)}), xs, ys)

        fd = fd_gradient(f, np.asarray(getattr(params, name)))
        np.testing.assert_allclose(getattr(g, name), fd, rtol=1e-6, atol=1e-9)


def test_forward_scans_equal_cell_loops():
    xs = jax.random.normal(KEY, (5, 2))
    lp = rnn.lstm_init(key=KEY, input_dim=2, hidden_dim=3, output_dim=1)
    gp = rnn.gru_init(key=KEY, input_dim=2, hidden_dim=3, output_dim=1)
    st, h = (jnp.zeros(3), jnp.zeros(3)), jnp.zeros(3)
    lh, gh = rnn.lstm_forward(lp, xs), rnn.gru_forward(gp, xs)
    for t in range(5):
        st = rnn.lstm_cell(lp, st, xs[t])
        h = rnn.gru_cell(gp, h, xs[t])
        np.testing.assert_allclose(lh[t], st[0], rtol=1e-12)
        np.testing.assert_allclose(gh[t], h, rtol=1e-12)


# ------------------------------------------------------------------------------ memory task


def test_memory_data():
    xs, ys = rnn.remember_first_bit_data(key=KEY, n=64, gap=30)
    assert xs.shape == (64, 31, 2) and ys.dtype == jnp.int32
    np.testing.assert_array_equal(np.asarray(ys), np.asarray(xs[:, 0, 0]) > 0)
    assert np.all(np.asarray(xs[:, 0, 1]) == 1) and np.all(np.asarray(xs[:, 1:, 1]) == 0)
    assert 0.3 < float(ys.mean()) < 0.7


def test_lstm_remembers_across_gap_of_30():
    params = rnn.lstm_init(key=KEY, input_dim=2, hidden_dim=8, output_dim=2, forget_bias=3.0)
    trained, losses = rnn.train_memory_task(
        params, key=jax.random.key(10), steps=200, batch_size=32, gap=30, learning_rate=3e-2
    )
    assert losses.shape == (200,)
    xs, ys = rnn.remember_first_bit_data(key=jax.random.key(2), n=500, gap=30)
    assert float(rnn.accuracy(params, xs, ys)) < 0.7
    assert float(rnn.accuracy(trained, xs, ys)) > 0.9
    # the same budget does not teach a plain tanh RNN (chance level, measured 0.49-0.51)
    plain = rnn.init(key=KEY, input_dim=2, hidden_dim=8, output_dim=2)
    size = rnn.train_memory_task_cache_size()
    plain, _ = rnn.train_memory_task(
        plain, key=jax.random.key(10), steps=200, batch_size=32, gap=30, learning_rate=3e-2
    )
    assert float(rnn.accuracy(plain, xs, ys)) < 0.7
    assert rnn.train_memory_task_cache_size() <= size + 1  # a new model, one new compile
    rnn.train_memory_task(
        plain, key=jax.random.key(11), steps=200, batch_size=32, gap=30, learning_rate=1e-3
    )
    assert rnn.train_memory_task_cache_size() <= size + 1  # a new learning rate: no recompile


def test_train_step_lr_is_traced():
    params = rnn.lstm_init(key=KEY, input_dim=2, hidden_dim=4, output_dim=2)
    xs, ys = rnn.remember_first_bit_data(key=KEY, n=8, gap=5)
    state = optim.adam(0.01).init(params)
    p1, s1, loss = rnn.train_step(params, state, xs, ys, 0.01)
    size = rnn.train_step_cache_size()
    p2, _, _ = rnn.train_step(params, state, xs, ys, 0.05)
    assert rnn.train_step_cache_size() == size
    assert np.isfinite(float(loss))
    assert not np.allclose(p1.W, p2.W)


# ------------------------------------------------------------------------------ validation


def test_validation_errors(toy):
    params, xs, targets, _ = toy
    with pytest.raises(TypeError, match="key"):
        rnn.init(key=None, input_dim=2, hidden_dim=2, output_dim=2)
    with pytest.raises(ValueError, match="hidden_dim"):
        rnn.init(key=KEY, input_dim=2, hidden_dim=0, output_dim=2)
    with pytest.raises(ValueError, match=r"`xs` must have shape \(T, 4\)"):
        rnn.forward(params, jnp.ones((4, 3)))
    with pytest.raises(ValueError, match="at least one time step"):
        rnn.forward(params, jnp.ones((0, 4)))
    with pytest.raises(ValueError, match="`xs` must be 2-dimensional"):
        rnn.forward(params, jnp.ones(4))
    with pytest.raises(ValueError, match=r"`h0` must have shape \(3,\)"):
        rnn.forward(params, xs, jnp.ones(2))
    with pytest.raises(ValueError, match="activation"):
        rnn.forward(params, xs, activation="relu6")
    with pytest.raises(ValueError, match=r"`targets` must hold ids in \[0, 3\]"):
        rnn.sequence_loss(params, xs, jnp.array([0, 1, 2, 4]))
    with pytest.raises(ValueError, match=r"`targets` must have shape \(4,\)"):
        rnn.bptt(params, xs, jnp.array([0, 1, 2]))
    with pytest.raises(TypeError, match="integer class ids"):
        rnn.sequence_loss(params, xs, jnp.array([0.0, 1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match="`k` must be a positive integer"):
        rnn.truncated_loss(params, xs, targets, 0)
    with pytest.raises(TypeError, match="`truncate` must be a positive integer"):
        rnn.bptt(params, xs, targets, truncate=2.5)
    with pytest.raises(ValueError, match=r"`params.W_hh` must have shape \(3, 3\)"):
        rnn.forward(params._replace(W_hh=jnp.ones((2, 2))), xs)
    with pytest.raises(TypeError, match="RNNParams"):
        rnn.forward(tuple(params), xs)
    with pytest.raises(ValueError, match="spectral_radius"):
        rnn.recurrent_matrix(key=KEY, size=3, spectral_radius=-1.0)
    with pytest.raises(ValueError, match="`W` must be square"):
        rnn.spectral_radius(jnp.ones((2, 3)))
    with pytest.raises(ValueError, match="same number of rows"):
        rnn.ridge_readout(jnp.ones((5, 2)), jnp.ones(4))
    with pytest.raises(ValueError, match="`ridge` must be non-negative"):
        rnn.ridge_readout(jnp.ones((5, 2)), jnp.ones(5), ridge=-1.0)
    with pytest.raises(ValueError, match="`W_out` must have 3 rows"):
        rnn.readout_predict(jnp.ones((5, 2)), jnp.ones(2))
    with pytest.raises(ValueError, match="input_scaling"):
        rnn.esn_init(key=KEY, input_dim=1, reservoir_size=5, input_scaling=0.0)
    with pytest.raises(ValueError, match="`gap` must be a positive integer"):
        rnn.remember_first_bit_data(key=KEY, n=4, gap=0)
    with pytest.raises(TypeError, match="LSTMParams, GRUParams or RNNParams"):
        rnn.sequence_logits({"W": 1}, xs)
    lp = rnn.lstm_init(key=KEY, input_dim=2, hidden_dim=3, output_dim=1)
    with pytest.raises(ValueError, match=r"`xs` must have shape \(T, 2\)"):
        rnn.lstm_forward(lp, jnp.ones((4, 3)))
    with pytest.raises(ValueError, match="learning_rate"):
        rnn.train_memory_task(lp, key=KEY, steps=1, learning_rate=-1.0)


# ------------------------------------------------------------------------ LM training, profile


def test_language_model_step_is_adam_on_the_mean_jax_grad():
    params, xs, targets = _long(T=6, q=3)
    xb = jnp.stack([xs, xs[::-1]])
    tb = jnp.stack([targets, targets[::-1]])
    tx = optim.adam(0.03)
    state = tx.init(params)
    new, _, loss = rnn.language_model_step(params, state, xb, tb, 0.03)

    def mean_loss(p):
        return (rnn.sequence_loss(p, xb[0], tb[0]) + rnn.sequence_loss(p, xb[1], tb[1])) / 2

    g = jax.grad(mean_loss)(params)
    u, _ = tx.update(g, state, params)
    want = optim.apply_updates(params, u)
    np.testing.assert_allclose(float(loss), float(mean_loss(params)), rtol=1e-10)
    for a, b in zip(new, want, strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-8, atol=1e-10)


def test_language_model_step_lr_is_traced():
    params, xs, targets = _long(T=5, q=3)
    state = optim.adam(0.1).init(params)
    rnn.language_model_step(params, state, xs[None], targets[None], 0.1)
    n = rnn.language_model_step_cache_size()
    for lr in (0.01, 0.2, 1e-4):
        rnn.language_model_step(params, state, xs[None], targets[None], lr)
    assert rnn.language_model_step_cache_size() == n


def test_train_language_model_learns_the_toy_and_matches_steps():
    xs, targets = rnn.toy_language_model_data()
    params = rnn.init(key=KEY, input_dim=4, hidden_dim=4, output_dim=4)
    trained, losses = rnn.train_language_model(
        params, xs[None], targets[None], steps=200, learning_rate=0.05
    )
    _, ys = rnn.forward(trained, xs)
    assert np.all(np.argmax(np.asarray(ys), axis=1) == np.asarray(targets))
    assert float(losses[-1]) < 0.05 * float(losses[0])
    # the scan is the same as calling language_model_step in a loop
    p, state = params, optim.adam(0.05).init(params)
    for s in range(3):
        p, state, loss = rnn.language_model_step(p, state, xs[None], targets[None], 0.05)
        np.testing.assert_allclose(float(loss), float(losses[s]), rtol=1e-9)


def test_gradient_profile_matches_the_pieces_and_never_recompiles():
    params, xs, targets = _long(T=12, p=5, q=4)
    W1 = rnn.recurrent_matrix(key=KEY, size=5, spectral_radius=1.0, normal=True)
    rnn.gradient_profile(params, W1, xs, targets, 0.5)
    n = rnn.gradient_profile_cache_size()
    for rho in (0.7, 1.0, 1.3):
        prof = rnn.gradient_profile(params, W1, xs, targets, rho)
        P = params._replace(W_hh=rho * W1)
        np.testing.assert_allclose(
            np.asarray(prof.linear), rho ** np.arange(12, -1, -1.0), rtol=1e-8
        )
        np.testing.assert_allclose(
            np.asarray(prof.tanh), np.asarray(rnn.hidden_jacobian_norms(P, xs)), rtol=1e-10
        )
        g = jax.grad(rnn.sequence_loss)(P, xs, targets)
        np.testing.assert_allclose(float(prof.grad_norm), float(jnp.linalg.norm(g.W_hh)), rtol=1e-8)
        # W = rho Q is normal: ||W||_2 = rho bounds the tanh product by rho^(T-t)
        assert np.all(np.asarray(prof.tanh) <= np.asarray(prof.linear) * (1 + 1e-9))
        np.testing.assert_allclose(float(prof.spectral_norm), rho, rtol=1e-9)
    Q, N = rnn.nonnormal_parts(key=KEY, size=5)
    for shear in (0.0, 2.0):
        prof = rnn.gradient_profile(params, Q, xs, targets, 0.8, N_unit=N, shear=shear)
        P = params._replace(W_hh=0.8 * Q + shear * N)
        np.testing.assert_allclose(
            np.asarray(prof.tanh), np.asarray(rnn.hidden_jacobian_norms(P, xs)), rtol=1e-10
        )
    assert rnn.gradient_profile_cache_size() == n


def test_new_validation_errors():
    params, xs, targets = _long(T=5, q=3)
    state = optim.adam(0.1).init(params)
    with pytest.raises(ValueError, match="xs"):
        rnn.language_model_step(params, state, xs, targets, 0.1)
    with pytest.raises(ValueError, match="targets"):
        rnn.language_model_step(params, state, xs[None], targets, 0.1)
    with pytest.raises(TypeError, match="targets"):
        rnn.train_language_model(params, xs[None], xs[None, :, 0], steps=2)
    with pytest.raises(ValueError, match="ids"):
        rnn.train_language_model(params, xs[None], targets[None] + 5, steps=2)
    with pytest.raises(ValueError, match="steps"):
        rnn.train_language_model(params, xs[None], targets[None], steps=0)
    with pytest.raises(ValueError, match="W_unit"):
        rnn.gradient_profile(params, jnp.eye(3), xs, targets, 1.0)
    with pytest.raises(ValueError, match="rho"):
        rnn.gradient_profile(params, jnp.eye(4), xs, targets, -1.0)
    with pytest.raises(ValueError, match="N_unit"):
        rnn.gradient_profile(params, jnp.eye(4), xs, targets, 1.0, N_unit=jnp.eye(3))
    with pytest.raises(ValueError, match="shear"):
        rnn.gradient_profile(params, jnp.eye(4), xs, targets, 1.0, shear=-0.5)
    with pytest.raises(ValueError, match="size"):
        rnn.nonnormal_parts(key=KEY, size=2)
    with pytest.raises(ValueError, match="k"):
        rnn.train_truncated_bptt(params, xs, targets, k=4)  # 4 does not divide T = 5
    with pytest.raises(ValueError, match="delay"):
        rnn.delayed_copy_data(key=KEY, length=10, delay=0)
    with pytest.raises(ValueError, match="initial"):
        rnn.mackey_glass(10, initial=-1.0)


def test_spectral_radius_explorer_shows_the_library_and_never_recompiles():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from course_lib import plotting, widgets

    demo = widgets.spectral_radius_explorer(hidden=6, steps=10)
    n = rnn.gradient_profile_cache_size()
    for rho in (0.5, 1.0, 1.6):
        shown = demo.compute(rho=rho)
        want = rnn.gradient_profile(demo.params, demo.W_unit, demo.xs, demo.targets, rho)
        np.testing.assert_allclose(shown.linear, rho ** np.arange(10, -1, -1.0), rtol=1e-6)
        np.testing.assert_allclose(shown.tanh, np.asarray(want.tanh), rtol=1e-12)
        demo.set(rho=rho, shear=0.0)
        assert len(demo.view.live.ax.lines) == 4  # linear, tanh, rho^(T-t), ||W||^(T-t)
        np.testing.assert_allclose(demo.view.linear.get_ydata(), shown.linear[::-1], rtol=1e-6)
    for shear in (0.5, 1.5):  # the non-normal part: the radius stays rho, the norm grows
        shown = demo.compute(rho=0.9, shear=shear)
        W = 0.9 * np.asarray(demo.W_unit) + shear * np.asarray(demo.N_unit)
        np.testing.assert_allclose(rnn.spectral_radius(W), 0.9, rtol=1e-9)
        np.testing.assert_allclose(float(shown.spectral_norm), np.linalg.norm(W, 2), rtol=1e-9)
        assert float(shown.spectral_norm) > 0.9
        bound = float(shown.spectral_norm) ** np.arange(10, -1, -1.0)
        assert np.all(shown.tanh <= bound * (1 + 1e-9))
        demo.set(rho=0.9, shear=shear)
        np.testing.assert_allclose(demo.view.bound.get_ydata(), bound[::-1], rtol=1e-9)
    demo.set(rho=1.2, shear=0.7)
    assert rnn.gradient_profile_cache_size() == n
    assert abs(rnn.spectral_radius(demo.W_unit) - 1.0) < 1e-9
    fig, (ax,) = plotting.figure(1)
    plotting.jacobian_norms(ax, {"a": np.array([1e-40, 0.5, 1.0]), "b": np.ones(3)})
    assert ax.get_yscale() == "log" and len(ax.lines) == 2
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), [2, 1, 0])  # steps back
    assert ax.lines[0].get_ydata()[0] == 1e-30  # clipped at the floor
    plt.close(fig)
