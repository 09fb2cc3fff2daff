r"""Self-checks for the backpropagation exercises (Aggarwal §3.2, Exercises 3.2–3.4 and 3.10).

Each public function takes the student's function, runs it on a few fixed cases and compares
with an independent reference: ``jax.grad`` / ``jax.jacobian`` of a forward function written
out here (the products of Exercises 3.2–3.4, softmax), the library's
:func:`course_lib.backprop.reverse_accumulate` (itself tested against ``jax.grad``) for the
dynamic program, and ``jax.grad`` of :func:`course_lib.mlp.loss` for the two-layer backward
pass. Models of common slips (a missing factor, a dropped $\Phi'$) only choose the hint.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from course_lib import backprop, mlp
from course_lib.checks import (
    Exercise,
    _array,
    _call,
    _compare,
    _f,
    _fmt,
    _passed,
    _scalar,
    _unpack,
)


def _slip(got: np.ndarray, slips: list[tuple[np.ndarray, str]], default: str | None) -> str | None:
    """The hint of the first slip whose value equals ``got``, else ``default``."""
    for value, hint in slips:
        if got.shape == np.shape(value) and np.allclose(got, value, rtol=1e-4, atol=1e-6):
            return hint
    return default


# ------------------------------------------------------------------------------ Exercise 3.2

_EX_PRODUCT = Exercise("product_neuron_grads", "3.2")


def product_neuron_grads(fn: Callable) -> None:
    r"""Check ``fn(x1, x2, dL_do) -> (dL_dx1, dL_dx2)`` for the product node $o = x_1 x_2$."""
    ex = _EX_PRODUCT
    cases = [(2.0, 3.0, 5.0), (-1.5, 4.0, 2.0), (0.0, 7.0, -3.0), (0.5, -0.25, 1.0)]
    for x1, x2, g in cases:
        words = f"x1 = {x1:g}, x2 = {x2:g}, dL/do = {g:g}"
        out = _unpack(
            ex, words, _call(ex, fn, (_f(x1), _f(x2), _f(g)), words), ("dL_dx1", "dL_dx2")
        )
        got = np.array(
            [_scalar(ex, words, name, v) for name, v in zip(("dL_dx1", "dL_dx2"), out, strict=True)]
        )
        local = jax.grad(lambda a, b: a * b, argnums=(0, 1))(_f(x1), _f(x2))
        expected = g * np.array([float(local[0]), float(local[1])])
        hint = _slip(
            got,
            [
                (expected[::-1], "the two are swapped: do/dx1 is the *other* input, x2."),
                (
                    np.array([x2, x1]),
                    "that is do/dx1 and do/dx2; the chain rule multiplies by dL/do as well.",
                ),
            ],
            "the local derivative of a product in one factor is the other factor; then apply "
            "the chain rule with dL/do.",
        )
        _compare(ex, words, "(dL_dx1, dL_dx2)", got, expected, rtol=1e-5, atol=1e-6, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ Exercises 3.3, 3.4

_EX_PAIRS = Exercise("pairwise_products_grad", "3.3")
_EX_MAX = Exercise("max_product_grad", "3.4")


def _pair_products(x: jax.Array) -> jax.Array:
    """All products x_i x_j with i < j, in the order of itertools.combinations."""
    i, j = np.array(list(itertools.combinations(range(x.shape[0]), 2))).T
    return x[i] * x[j]


def _products_check(ex: Exercise, fn: Callable, reduce: Callable, cases: list, hints) -> None:
    for x, g in cases:
        x = np.asarray(x, dtype=np.float64)
        words = f"x = {_fmt(x)}, dL/do = {g:g}"
        got = _array(
            ex,
            words,
            "dL/dx",
            _call(ex, fn, (_f(x), _f(g)), words),
            x.shape,
            hint="return one partial derivative per input: the same shape as x.",
        )
        expected = g * np.asarray(
            jax.grad(lambda v: reduce(_pair_products(v)))(jnp.asarray(x)), dtype=np.float64
        )
        _compare(ex, words, "dL/dx", got, expected, rtol=1e-5, atol=1e-5, hint=hints(x, g, got))
    _passed(ex, len(cases))


def pairwise_products_grad(fn: Callable) -> None:
    r"""Check ``fn(x: (d,), dL_do) -> (d,)`` for $o = \sum_{i<j} x_i x_j$ (Exercise 3.3)."""

    def hints(x, g, got):
        return _slip(
            got,
            [
                (x.sum() - x, "right shape of the answer, but you forgot to multiply by dL/do."),
                (
                    g * x.sum() * np.ones_like(x),
                    "the product x_i x_j does not depend on x_i "
                    "through the term x_i * x_i: leave x_i itself out of its sum.",
                ),
                (
                    g * (x.sum() + x),
                    "each x_i appears in d - 1 products, once with every "
                    "other x_j: do/dx_i is the sum of the others.",
                ),
            ],
            "x_i appears in one product with every other x_j; sum their local derivatives "
            "(pathwise aggregation), then multiply by dL/do.",
        )

    cases = [
        ([1.0, 2.0, 3.0, 4.0], 2.0),  # the book's numbers: (18, 16, 14, 12)
        ([0.5, -1.0, 2.0, 0.0], -1.5),
        ([1.0, -2.0, 0.25, 3.0, -0.5], 1.0),  # five inputs: ten products
    ]
    _products_check(_EX_PAIRS, fn, jnp.sum, cases, hints)


def max_product_grad(fn: Callable) -> None:
    r"""Check ``fn(x: (d,), dL_do) -> (d,)`` for $o = \max_{i<j} x_i x_j$ (Exercise 3.4)."""

    def hints(x, g, got):
        return _slip(
            got,
            [
                (
                    g * (x.sum() - x),
                    "that is the gradient of the *sum* of the products "
                    "(Exercise 3.3); a max passes the gradient to its winner only.",
                ),
            ],
            "find the pair (i, j) whose product is largest; only x_i and x_j get a gradient, "
            "and each gets dL/do times the other one. Careful: two negatives make a large "
            "positive product, and the two inputs of largest |x| need not be the winning pair "
            "(one negative and one positive give a negative product): compare the products.",
        )

    cases = [
        ([1.0, 2.0, 3.0, 4.0], 2.0),  # the book's numbers: (0, 0, 8, 6)
        ([-3.0, 1.0, 2.0, -4.0], 1.0),  # the winner is (-3) * (-4) = 12
        # the two largest |x| are -5 and 3, whose product -15 is the smallest: the winner is 2 * 3
        ([-5.0, 1.0, 2.0, 3.0], 1.0),
        ([0.5, -1.0, 2.5, 0.0, 1.5], -2.0),
    ]
    _products_check(_EX_MAX, fn, jnp.max, cases, hints)


# ------------------------------------------------------------------------------ Exercise 3.10

_EX_JACOBIAN = Exercise("softmax_jacobian", "3.10a")
_EX_SOFTMAX_CE = Exercise("softmax_ce_grad", "3.10b")

# One length k = 4 for every case: each new shape costs a compilation, here and in the student's
# eager code.
_SOFTMAX_CASES = [
    ("v = (1, 2, 3, 0.5)", [1.0, 2.0, 3.0, 0.5]),
    ("v = (0, 0, 0, 0): all equal", [0.0, 0.0, 0.0, 0.0]),
    ("v = (2, -1, 0.5, -3)", [2.0, -1.0, 0.5, -3.0]),
    ("v = (1000, 999, -1000, 0): large scores", [1000.0, 999.0, -1000.0, 0.0]),
]
_OVERFLOW_HINT = (
    "exp(1000) overflows to inf (and inf/inf = nan): subtract max(v) from v before exponentiating; "
    "softmax does not change (or use jax.nn.softmax)."
)


def softmax_jacobian(fn: Callable) -> None:
    r"""Check ``fn(v: (k,)) -> (k, k)``, the Jacobian $\partial o_i/\partial v_j$ of the softmax."""
    ex = _EX_JACOBIAN
    for label, v in _SOFTMAX_CASES:
        v = np.asarray(v, dtype=np.float64)
        k = v.shape[0]
        words = label
        got = _array(
            ex,
            words,
            "J",
            _call(ex, fn, (_f(v),), words),
            (k, k),
            hint="J has one row per output o_i and one column per input v_j: (k, k).",
        )
        expected = np.asarray(jax.jacobian(jax.nn.softmax)(jnp.asarray(v)), dtype=np.float64)
        o = np.asarray(jax.nn.softmax(jnp.asarray(v)), dtype=np.float64)
        if not np.all(np.isfinite(got)):
            hint = _OVERFLOW_HINT
        else:
            hint = _slip(
                got,
                [
                    (-np.outer(o, o), "the diagonal is missing its o_i term: J = diag(o) - o o^T."),
                    (
                        np.diag(o * (1 - o)),
                        "that is only the diagonal; off the diagonal "
                        "do_i/dv_j = -o_i o_j, since every o_i shares the denominator.",
                    ),
                    (np.diag(o) + np.outer(o, o), "sign: raising v_j lowers every other o_i."),
                ],
                "differentiate o_i = exp(v_i) / sum_j exp(v_j) with the quotient rule, once "
                "for j = i and once for j != i.",
            )
        _compare(ex, words, "J", got, expected, rtol=1e-4, atol=1e-6, hint=hint)
    _passed(ex, len(_SOFTMAX_CASES))


def softmax_ce_grad(fn: Callable) -> None:
    r"""Check ``fn(v: (k,), c: int) -> (k,)`` $= \partial(-\log o_c)/\partial v$ (Eq 3.22)."""
    ex = _EX_SOFTMAX_CE
    classes = [2, 0, 3, 1]
    for (label, v), c in zip(_SOFTMAX_CASES, classes, strict=True):
        v = np.asarray(v, dtype=np.float64)
        words = f"{label}, true class c = {c}"
        got = _array(
            ex,
            words,
            "dL/dv",
            _call(ex, fn, (_f(v), c), words),
            v.shape,
            hint="one partial derivative per score: the same shape as v.",
        )
        expected = np.asarray(
            jax.grad(lambda u, c=c: -jax.nn.log_softmax(u)[c])(jnp.asarray(v)), dtype=np.float64
        )
        o = np.asarray(jax.nn.softmax(jnp.asarray(v)), dtype=np.float64)
        onehot = np.eye(v.shape[0])[c]
        if not np.all(np.isfinite(got)):
            hint = _OVERFLOW_HINT
        else:
            hint = _slip(
                got,
                [
                    (
                        onehot - o,
                        "wrong sign: this is the gradient of +log o_c, the loss is -log o_c.",
                    ),
                    (o, "you forgot the true class: subtract 1 at index c."),
                ],
                "multiply the transposed softmax Jacobian by dL/do, whose only nonzero entry "
                "is -1/o_c at index c; most terms cancel.",
            )
        _compare(ex, words, "dL/dv", got, expected, rtol=1e-4, atol=1e-6, hint=hint)
    _passed(ex, len(classes))


# ------------------------------------------------------------------------------ the DP of Eq 3.8

_EX_DP = Exercise("reverse_accumulate", "")


def _two_input_graph() -> backprop.Graph:
    """o = sigmoid(a * b) + tanh(a) * exp(b): several inputs, nodes with 2 and 3 successors."""
    g = backprop.GraphBuilder()
    a, b = g.input("a"), g.input("b")
    m = g.node("m", "mul", a, b)
    s = g.node("s", "sigmoid", m)
    t = g.node("t", "tanh", a)
    e = g.node("e", "exp", b)
    te = g.node("te", "mul", t, e)
    g.node("o", "add", s, te)
    g.node("after", "square", m)  # after the sink: cannot reach o, adjoint 0
    return g.build()


def _dp_cases() -> list[tuple[str, backprop.Graph, dict[str, float], str]]:
    return [
        ("Fig 3.3: o = sin(w^2) + cos(w^2) at w = 0.9", backprop.sin_cos_graph(), {"w": 0.9}, "o"),
        ("Fig 3.4: o = w^32 at w = 1.05", backprop.power_graph(5), {"w": 1.05}, "o"),
        (
            "a layered graph, 3 layers of 3 sigmoid units, at w = 0.3",
            backprop.layered_graph(3, 3),
            {"w": 0.3},
            "o",
        ),
        (
            "two inputs a = 0.7, b = -0.4, and a node 'after' the sink o",
            _two_input_graph(),
            {"a": 0.7, "b": -0.4},
            "o",
        ),
        (
            "Fig 3.3 with the sink at y (an inner node)",
            backprop.sin_cos_graph(),
            {"w": 0.9},
            "y",
        ),
    ]


def reverse_accumulate(fn: Callable) -> None:
    r"""Check ``fn(graph, z, sink) -> S`` with $S_i = \partial\,\text{sink}/\partial y(i)$ (Eq 3.8).

    ``S`` is a sequence with one number per node (0 for nodes that cannot reach the sink).
    """
    ex = _EX_DP
    cases = _dp_cases()
    for words, graph, inputs, sink in cases:
        z = backprop.local_derivatives(graph, backprop.forward(graph, inputs))
        n = len(graph.names)
        result = _call(ex, fn, (graph, dict(z), sink), words)
        got = _array(
            ex,
            words,
            "S",
            result,
            (n,),
            hint=f"return one adjoint per node, in the graph's order ({n} numbers here).",
        )
        expected = np.asarray(backprop.reverse_accumulate(graph, z, sink).adjoints)
        names = ", ".join(graph.names)
        hint = (
            "walk the nodes from the sink backwards (reverse topological order: the reverse of "
            "the graph's own order), start from S(sink) = 1, and for every node sum "
            "z(i, j) * S(j) over ALL its successors j."
        )
        t = graph.index(sink)
        if not np.isclose(got[t], 1.0):
            hint = "the adjoint of the sink itself is d sink / d sink = 1."
        elif np.any(got[t + 1 :] != 0) and np.allclose(got[: t + 1], expected[: t + 1]):
            hint = "nodes that come after the sink cannot influence it: their adjoint is 0."
        _compare(
            ex,
            words,
            "S",
            got,
            expected,
            rtol=1e-6,
            atol=1e-9,
            hint=hint,
            details=[f"nodes: {names}"],
        )
    _passed(ex, len(cases))


# ------------------------------------------------------------------------------ 2-layer backward

_EX_TWO_LAYER = Exercise("two_layer_backward", "")


_N, _D, _H, _K = 6, 3, 4, 3  # one shape for every case: one compilation


@functools.cache
def _two_layer_reference() -> Callable:
    """``jax.grad`` of ``mlp.loss``, and the no-Phi' slip (for a hint), jitted once."""

    def reference(params, X, y):
        auto = jax.grad(mlp.loss)(params, X, y, "tanh")
        cache = mlp.forward_cache(params, X, "tanh")
        d2 = (jax.nn.softmax(cache.pre[1]) - jax.nn.one_hot(y, _K, dtype=X.dtype)) / X.shape[0]
        return (auto[0].W, auto[0].b, auto[1].W, auto[1].b), X.T @ (d2 @ params[1].W.T)

    return jax.jit(reference)


def _fixed(shape: tuple[int, ...], phase: float, scale: float) -> jax.Array:
    """Deterministic, irregular-looking numbers (no random draws: nothing to compile)."""
    n = int(np.prod(shape))
    return _f(scale * np.sin(1.7 * np.arange(n) + phase).reshape(shape))


def _two_layer_cases():
    out = []
    for label, scale in (("small weights", 0.8), ("large weights: tanh saturates", 2.5)):
        params = (
            mlp.Dense(_fixed((_D, _H), 0.1, scale), _fixed((_H,), 0.7, 0.3)),
            mlp.Dense(_fixed((_H, _K), 1.3, scale), _fixed((_K,), 2.1, 0.3)),
        )
        X = _fixed((_N, _D), 2.9 + scale, 1.5)
        y = jnp.arange(_N) % _K
        words = f"{_N} points in {_D}-D, {_H} tanh units, {_K} classes ({label})"
        out.append((words, params, X, y))
    return out


def two_layer_backward(fn: Callable) -> None:
    r"""Check ``fn(W1, b1, W2, b2, X, y) -> (dW1, db1, dW2, db2)`` against ``jax.grad``.

    The network: $a_1 = XW_1 + b_1$, $h_1 = \tanh a_1$, logits $a_2 = h_1W_2 + b_2$, loss the
    mean softmax cross-entropy (:func:`course_lib.mlp.loss` with ``"tanh"``).
    """
    ex = _EX_TWO_LAYER
    names = ("dW1", "db1", "dW2", "db2")
    cases = _two_layer_cases()
    for words, params, X, y in cases:
        (W1, b1), (W2, b2) = params
        args = (_f(W1), _f(b1), _f(W2), _f(b2), _f(X), jnp.asarray(y))
        out = _unpack(ex, words, _call(ex, fn, args, words), names)
        expected, no_phi = _two_layer_reference()(params, X, y)  # no_phi: a slip, for hints
        for name, value, ref in zip(names, out, expected, strict=True):
            ref = np.asarray(ref, dtype=np.float64)
            got = _array(
                ex, words, name, value, ref.shape, hint=f"{name} has the shape of {name[1:]}."
            )
            hint = _slip(
                got,
                [
                    (
                        np.asarray(no_phi),
                        "the factor Phi'(a_1) = 1 - tanh(a_1)^2 is missing when "
                        "delta passes back through the hidden layer (Eq 3.18).",
                    ),
                    (ref * X.shape[0], "the loss is a *mean* over the n examples: divide by n."),
                    (-ref, "wrong sign: delta_2 = softmax(a_2) - onehot(y), not the reverse."),
                ],
                "delta_2 = (softmax(a_2) - onehot(y)) / n; delta_1 = (delta_2 W2^T) * (1 - h_1^2); "
                "each weight gradient is (layer input)^T delta, each bias gradient sums delta "
                "over the rows.",
            )
            _compare(ex, words, name, got, ref, rtol=1e-4, atol=1e-6, hint=hint)
    _passed(ex, len(cases) * len(names))
