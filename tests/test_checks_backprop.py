"""course_lib.checks.backprop: each check passes a right answer and catches plausible slips.

For every exercise: a correct implementation passes (prints the ✔ line), the unsolved stub
fails with "not implemented yet", and typical wrong implementations (a missing factor, a wrong
sign, a dropped activation derivative) fail with a hint that names the slip.
"""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from course_lib import checks


def _stub(*args):
    raise NotImplementedError("write your code here")


def _fails(check, fn, match):
    with pytest.raises(checks.CheckFailed, match=match) as info:
        check(fn)
    # what the student sees: the message, no traceback, starting with the failure mark
    shown = "\n".join(info.value._render_traceback_())
    assert "Traceback" not in shown and 'File "' not in shown
    assert str(info.value).startswith("✘ ")


def _passes(check, fn, capsys):
    check(fn)
    assert "✔" in capsys.readouterr().out


# ------------------------------------------------------------------------------ Exercise 3.2


def test_product_neuron_grads(capsys):
    _passes(checks.product_neuron_grads, lambda x1, x2, g: (g * x2, g * x1), capsys)
    _fails(checks.product_neuron_grads, _stub, "not implemented yet")
    # swapped derivatives
    _fails(checks.product_neuron_grads, lambda x1, x2, g: (g * x1, g * x2), "swapped")
    # forgot the upstream gradient
    _fails(checks.product_neuron_grads, lambda x1, x2, g: (x2, x1), "multiplies by dL/do")
    # a single number instead of a pair
    _fails(checks.product_neuron_grads, lambda x1, x2, g: g * x2, "expected a tuple")


# ------------------------------------------------------------------------------ Exercises 3.3, 3.4


def _pairs_right(x, g):
    return g * (jnp.sum(x) - x)


def _max_right(x, g):
    pairs = list(itertools.combinations(range(x.shape[0]), 2))
    products = jnp.array([x[i] * x[j] for i, j in pairs])
    i, j = pairs[int(jnp.argmax(products))]
    return jnp.zeros_like(x).at[i].set(g * x[j]).at[j].set(g * x[i])


def test_pairwise_products_grad(capsys):
    _passes(checks.pairwise_products_grad, _pairs_right, capsys)
    _fails(checks.pairwise_products_grad, _stub, "not implemented yet")
    _fails(
        checks.pairwise_products_grad, lambda x, g: jnp.sum(x) - x, "forgot to multiply by dL/do"
    )
    _fails(checks.pairwise_products_grad, lambda x, g: g * (jnp.sum(x) + x), "sum of the others")
    _fails(checks.pairwise_products_grad, lambda x, g: g * jnp.sum(x), "wrong shape")


def test_book_numbers_of_exercises_3_3_and_3_4():
    x = jnp.array([1.0, 2.0, 3.0, 4.0])
    np.testing.assert_allclose(_pairs_right(x, 2.0), [18, 16, 14, 12])
    np.testing.assert_allclose(_max_right(x, 2.0), [0, 0, 8, 6])


def test_max_product_grad(capsys):
    _passes(checks.max_product_grad, _max_right, capsys)
    _fails(checks.max_product_grad, _stub, "not implemented yet")
    # the gradient of the sum instead of the max
    _fails(checks.max_product_grad, _pairs_right, "gradient of the \\*sum\\*")

    def largest_two_values(x, g):  # forgets that two negatives make a large product
        order = jnp.argsort(x)
        i, j = int(order[-1]), int(order[-2])
        return jnp.zeros_like(x).at[i].set(g * x[j]).at[j].set(g * x[i])

    _fails(checks.max_product_grad, largest_two_values, "two negatives")

    def largest_two_magnitudes(x, g):  # right for (-3, 1, 2, -4), wrong for (-5, 1, 2, 3)
        order = jnp.argsort(jnp.abs(x))
        i, j = int(order[-1]), int(order[-2])
        return jnp.zeros_like(x).at[i].set(g * x[j]).at[j].set(g * x[i])

    _fails(checks.max_product_grad, largest_two_magnitudes, r"largest \|x\| need not be")


# ------------------------------------------------------------------------------ Exercise 3.10


def _jacobian_right(v):
    o = jax.nn.softmax(v)
    return jnp.diag(o) - jnp.outer(o, o)


def test_softmax_jacobian(capsys):
    _passes(checks.softmax_jacobian, _jacobian_right, capsys)
    _fails(checks.softmax_jacobian, _stub, "not implemented yet")

    def naive(v):  # overflows at v = 1000
        e = jnp.exp(v)
        o = e / e.sum()
        return jnp.diag(o) - jnp.outer(o, o)

    _fails(checks.softmax_jacobian, naive, "subtract max")
    _fails(checks.softmax_jacobian, lambda v: -jnp.outer(*[jax.nn.softmax(v)] * 2), "diagonal")
    _fails(
        checks.softmax_jacobian,
        lambda v: jnp.diag(jax.nn.softmax(v) * (1 - jax.nn.softmax(v))),
        "only the diagonal",
    )
    _fails(checks.softmax_jacobian, lambda v: jax.nn.softmax(v), "wrong shape")


def test_softmax_ce_grad(capsys):
    _passes(
        checks.softmax_ce_grad, lambda v, c: jax.nn.softmax(v) - jax.nn.one_hot(c, v.size), capsys
    )
    # the intended route: the Jacobian of the previous exercise times dL/do
    _passes(
        checks.softmax_ce_grad,
        lambda v, c: _jacobian_right(v).T @ jnp.zeros(v.size).at[c].set(-1 / jax.nn.softmax(v)[c]),
        capsys,
    )
    _fails(checks.softmax_ce_grad, _stub, "not implemented yet")
    _fails(
        checks.softmax_ce_grad,
        lambda v, c: jax.nn.one_hot(c, v.size) - jax.nn.softmax(v),
        "wrong sign",
    )
    _fails(checks.softmax_ce_grad, lambda v, c: jax.nn.softmax(v), "subtract 1 at index c")


# ------------------------------------------------------------------------------ the DP


def _dp_right(graph, z, sink):
    succ = graph.successors()
    t = graph.index(sink)
    S = [0.0] * len(graph.names)
    S[t] = 1.0
    for i in range(t - 1, -1, -1):
        S[i] = sum(z[(i, j)] * S[j] for j in succ[i] if j <= t)
    return S


def test_reverse_accumulate(capsys):
    _passes(checks.reverse_accumulate, _dp_right, capsys)
    _fails(checks.reverse_accumulate, _stub, "not implemented yet")

    def last_successor_only(graph, z, sink):  # overwrites instead of summing
        succ = graph.successors()
        t = graph.index(sink)
        S = [0.0] * len(graph.names)
        S[t] = 1.0
        for i in range(t - 1, -1, -1):
            for j in succ[i]:
                if j <= t:
                    S[i] = z[(i, j)] * S[j]
        return S

    _fails(checks.reverse_accumulate, last_successor_only, "ALL its successors")

    def sink_is_last(graph, z, sink):  # assumes the sink is the last node
        succ = graph.successors()
        S = [0.0] * len(graph.names)
        S[-1] = 1.0
        for i in range(len(S) - 2, -1, -1):
            S[i] = sum(z[(i, j)] * S[j] for j in succ[i])
        return S

    _fails(checks.reverse_accumulate, sink_is_last, "sink")
    _fails(
        checks.reverse_accumulate, lambda graph, z, sink: _dp_right(graph, z, sink)[:-1], "shape"
    )


# ------------------------------------------------------------------------------ 2-layer backward


def _two_layer(W1, b1, W2, b2, X, y, *, phi_prime=True, mean=True, sign=1.0):
    a1 = X @ W1 + b1[None, :]
    h1 = jnp.tanh(a1)
    a2 = h1 @ W2 + b2[None, :]
    d2 = sign * (jax.nn.softmax(a2) - jax.nn.one_hot(y, W2.shape[1], dtype=X.dtype))
    if mean:
        d2 = d2 / X.shape[0]
    d1 = d2 @ W2.T
    if phi_prime:
        d1 = d1 * (1 - h1**2)
    return X.T @ d1, d1.sum(0), h1.T @ d2, d2.sum(0)


def test_two_layer_backward(capsys):
    _passes(checks.two_layer_backward, _two_layer, capsys)
    _fails(checks.two_layer_backward, _stub, "not implemented yet")
    _fails(
        checks.two_layer_backward,
        lambda *a: _two_layer(*a, phi_prime=False),
        "Phi'\\(a_1\\) = 1 - tanh",
    )
    _fails(checks.two_layer_backward, lambda *a: _two_layer(*a, mean=False), "divide by n")
    _fails(checks.two_layer_backward, lambda *a: _two_layer(*a, sign=-1.0), "wrong sign")
    _fails(checks.two_layer_backward, lambda *a: _two_layer(*a)[:2], "expected a tuple")
