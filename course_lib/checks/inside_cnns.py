r"""Self-checks for the exercises on looking inside a CNN (Aggarwal §8.5.1, §8.2.8, Ex 8.9).

The references are written out here in NumPy: a loop over channels and their clipped windows
for local response normalization (Eq 8.2 with $a_j^2$), the masks of the guided ReLU, one step
of projected gradient ascent (Eq 8.4), and the two-word greedy decoder. Common slips are
recognized and answered with a hint.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from course_lib.checks import (
    Exercise,
    _array,
    _call,
    _close_within,
    _compare,
    _f,
    _passed,
)

_close = _close_within(rtol=1e-5, atol=1e-7)


def _lrn_ref(
    a: np.ndarray,
    k: float,
    alpha: float,
    beta: float,
    n: int,
    *,
    printed=False,
    torch=False,
    wrap=False,
    half=None,
) -> np.ndarray:
    c = a.size
    h = n // 2 if half is None else half
    out = np.zeros(c)
    for i in range(c):
        js = (
            [j % c for j in range(i - h, i + h + 1)]
            if wrap
            else range(max(0, i - h), min(c, i + h + 1))
        )
        s = sum((a[i] if printed else a[j]) ** 2 for j in js)
        out[i] = a[i] / (k + (alpha / n if torch else alpha) * s) ** beta
    return out


# ------------------------------------------------------------------------ LRN by loops

_EX_LRN = Exercise("lrn_loops", "")


def lrn_loops(fn: Callable) -> None:
    r"""Check ``fn(a, k, alpha, beta, n)`` for one channel vector ``a (C,)``:
    $b_i = a_i / (k + \alpha\sum_{j} a_j^2)^\beta$ over $j = i-\lfloor n/2\rfloor, \dots,
    i+\lfloor n/2\rfloor$ clipped to the channels that exist."""
    ex = _EX_LRN
    rng = np.random.default_rng(21)
    cases = [
        ("AlexNet's constants, 8 channels of size ~50", rng.uniform(0, 100, 8), 2.0, 1e-4, 0.75, 5),
        ("k=1, alpha=0.01, beta=0.5, n=3, 6 channels", rng.normal(size=6) * 10, 1.0, 1e-2, 0.5, 3),
        ("k=0.5, alpha=0.1, beta=1, n=5, 4 channels", rng.normal(size=4) * 3, 0.5, 0.1, 1.0, 5),
    ]
    for words, a, k, alpha, beta, n in cases:
        got = _array(
            ex,
            words,
            "b",
            _call(ex, fn, (_f(a), k, alpha, beta, n), words),
            a.shape,
            hint="b has one entry per channel, like a.",
        )
        expected = _lrn_ref(a, k, alpha, beta, n)
        if _close(got, expected):
            continue
        if _close(got, _lrn_ref(a, k, alpha, beta, n, printed=True)):
            hint = (
                "the sum runs over the neighbours' squares a_j^2, not a_i^2 (the book's "
                "typo): each channel is divided by its neighbours' activity."
            )
        elif _close(got, _lrn_ref(a, k, alpha, beta, n, torch=True)):
            hint = "that is PyTorch's convention (alpha / n); the book and AlexNet use alpha."
        elif _close(got, _lrn_ref(a, k, alpha, beta, n, wrap=True)):
            hint = "clip the window at the first and last channel; do not wrap around."
        elif _close(got, _lrn_ref(a, k, alpha, beta, n, half=n)):
            hint = "the window has n channels: floor(n/2) on each side of i, not n."
        else:
            hint = "b_i = a_i / (k + alpha * sum of a_j^2 over the window) ** beta."
        _compare(ex, words, "b", got, expected, rtol=1e-5, atol=1e-7, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------ guided ReLU backward

_EX_GUIDED = Exercise("guided_relu_backward", "")


def guided_relu_backward(fn: Callable) -> None:
    r"""Check ``fn(z, g)``: the guided-backprop ReLU's backward pass,
    $g \odot I(z > 0) \odot I(g > 0)$, for the forward input ``z`` and upstream gradient
    ``g`` of the same shape."""
    ex = _EX_GUIDED
    rng = np.random.default_rng(22)
    cases = [("z, g of shape (12,)", (12,)), ("z, g of shape (3, 4, 5)", (3, 4, 5))]
    for words, shape in cases:
        z, g = rng.normal(size=shape), rng.normal(size=shape)
        got = _array(
            ex,
            words,
            "the gradient",
            _call(ex, fn, (_f(z), _f(g)), words),
            shape,
            hint="the gradient passed down has the shape of z.",
        )
        expected = np.where((z > 0) & (g > 0), g, 0.0)
        if _close(got, expected):
            continue
        if _close(got, np.where(z > 0, g, 0.0)):
            hint = "that is ordinary backprop: also drop the negative upstream gradients (g > 0)."
        elif _close(got, np.where(g > 0, g, 0.0)):
            hint = "that is the deconvnet rule: also keep the forward mask (z > 0)."
        elif _close(got, np.maximum(z, 0.0) * np.maximum(g, 0.0)):
            hint = "use the masks I(z > 0), I(g > 0) (0 or 1), not the value of ReLU(z)."
        else:
            hint = "pass g where both z > 0 and g > 0, and 0 elsewhere."
        _compare(ex, words, "the gradient", got, expected, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------ one ascent step

_EX_ASCENT = Exercise("ascent_step", "")


def ascent_step(fn: Callable) -> None:
    r"""Check ``fn(x, grad_o, lr, lam)``: one step of Eq 8.4 with pixel clipping,
    $x \Leftarrow \mathrm{clip}(x + \alpha(\nabla_x o - 2\lambda x), 0, 1)$."""
    ex = _EX_ASCENT
    rng = np.random.default_rng(23)
    cases = [
        ("an 8x8 image, lr=0.1, lam=0.05", (8, 8), 0.1, 0.05),
        ("a (2, 8, 8, 1) batch, lr=0.5, lam=0.2", (2, 8, 8, 1), 0.5, 0.2),
    ]
    for words, shape, lr, lam in cases:
        x = rng.uniform(0, 1, size=shape)
        grad = rng.normal(size=shape) * 2
        got = _array(
            ex,
            words,
            "the new x",
            _call(ex, fn, (_f(x), _f(grad), lr, lam), words),
            shape,
            hint="the new image has the shape of x.",
        )
        expected = np.clip(x + lr * (grad - 2 * lam * x), 0.0, 1.0)
        if _close(got, expected):
            continue
        if _close(got, np.clip(x + lr * (grad - lam * x), 0.0, 1.0)):
            hint = "the gradient of lam * ||x||^2 is 2 * lam * x (do not forget the 2)."
        elif _close(got, x + lr * (grad - 2 * lam * x)):
            hint = "clip the pixels to [0, 1] after the step (the range of the digits)."
        elif _close(got, np.clip(x - lr * (grad - 2 * lam * x), 0.0, 1.0)):
            hint = "this is ascent: move along +grad J, not against it."
        elif _close(got, np.clip(x + lr * (grad + 2 * lam * x), 0.0, 1.0)):
            hint = "the penalty is subtracted: J = o - lam ||x||^2."
        else:
            hint = "x + lr * (grad_o - 2 lam x), then clip to [0, 1]."
        _compare(ex, words, "the new x", got, expected, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------ greedy two-word caption

_EX_CAPTION = Exercise("greedy_caption", "8.9")


def _caption_ref(F: np.ndarray, W1: np.ndarray, W2: np.ndarray, *, feed=True, bias_first=False):
    n = F.shape[0]
    ones = np.ones((n, 1))
    A = np.hstack([ones, F]) if bias_first else np.hstack([F, ones])
    w1 = np.argmax(A @ W1.T, axis=1)
    onehot = np.eye(W1.shape[0])[w1] if feed else np.zeros((n, W1.shape[0]))
    B = np.hstack([ones, F, onehot]) if bias_first else np.hstack([F, onehot, ones])
    w2 = np.argmax(B @ W2.T, axis=1)
    return np.stack([w1, w2], axis=1)


def greedy_caption(fn: Callable) -> None:
    r"""Check ``fn(F, W1, W2)``: for features ``F (n, d)``, the first word
    $w_1 = \arg\max W_1 [F; 1]$ and the second $w_2 = \arg\max W_2 [F; \mathrm{onehot}(w_1); 1]$;
    returns ``(n, 2)`` integers."""
    ex = _EX_CAPTION
    rng = np.random.default_rng(24)
    cases = [
        ("n=30 images, d=6 features, 10 class words", 30, 6),
        ("n=12 images, d=3 features, 10 class words", 12, 3),
    ]
    for words, n, d in cases:
        F = rng.normal(size=(n, d))
        W1 = rng.normal(size=(10, d + 1))
        W2 = rng.normal(size=(2, d + 11))
        W2[:, d : d + 10] *= 4  # the first word matters for the second
        got = _array(
            ex,
            words,
            "the captions",
            _call(ex, fn, (_f(F), _f(W1), _f(W2)), words),
            (n, 2),
            hint="return one row [first word, second word] per image.",
        )
        expected = _caption_ref(F, W1, W2)
        if np.array_equal(got, expected):
            continue
        if np.array_equal(got[:, 0], expected[:, 0]):
            if np.array_equal(got, _caption_ref(F, W1, W2, feed=False)):
                hint = "feed the first word back in: one-hot(w1) goes between F and the 1."
            else:
                hint = "the second head reads [F, onehot(w1), 1], in this order."
        elif np.array_equal(got, _caption_ref(F, W1, W2, bias_first=True)):
            hint = "the constant 1 comes last: [F, 1] and [F, onehot(w1), 1]."
        else:
            hint = "w1 = argmax of W1 @ [F, 1] for each image (one score per class word)."
        _compare(ex, words, "the captions", got, expected, rtol=0, atol=0, hint=hint)
    _passed(ex, len(cases))


# ------------------------------------------------------------------------ a tiny net, by rule

_EX_RULE = Exercise("backward_by_rule", "")


def _rule_ref(x, W1, W2, w, rule, *, first_mask=True, first_rule=None):
    z1 = W1 @ x
    z2 = W2 @ np.maximum(z1, 0.0)

    def through(z, g, rule=rule):
        if rule == "gradient":
            keep = z > 0
        elif rule == "deconvnet":
            keep = g > 0
        else:
            keep = (z > 0) & (g > 0)
        return np.where(keep, g, 0.0)

    g2 = through(z2, w)
    g1 = W2.T @ g2
    g1 = through(z1, g1, first_rule or rule) if first_mask else g1
    return W1.T @ g1


def backward_by_rule(fn: Callable) -> None:
    r"""Check ``fn(x, W1, W2, w, rule)``: $\partial o/\partial x$ for
    $o = w\cdot\mathrm{ReLU}(W_2\,\mathrm{ReLU}(W_1 x))$ with both ReLUs' backward passes
    following ``rule`` ("gradient", "deconvnet" or "guided")."""
    ex = _EX_RULE
    rng = np.random.default_rng(25)
    x, W1, W2, w = (rng.normal(size=s) for s in ((5,), (7, 5), (6, 7), (6,)))
    for rule in ("gradient", "deconvnet", "guided"):
        words = f'x (5,), W1 (7, 5), W2 (6, 7), w (6,), rule="{rule}"'
        got = _array(ex, words, "the map", _call(ex, fn, (_f(x), _f(W1), _f(W2), _f(w), rule),
                     words), (5,), hint="the map has the shape of x.")  # fmt: skip
        expected = _rule_ref(x, W1, W2, w, rule)
        if _close(got, expected):
            continue
        others = [r for r in ("gradient", "deconvnet", "guided") if r != rule]
        same_as = [r for r in others if _close(got, _rule_ref(x, W1, W2, w, r))]
        if same_as:
            hint = f'for rule="{rule}" you computed the {same_as[0]} rule.'
        elif _close(got, _rule_ref(x, W1, W2, w, rule, first_mask=False)) or _close(
            got, _rule_ref(x, W1, W2, w, rule, first_rule="gradient")
        ):
            hint = "apply the rule at both ReLUs, the first one too (below W2.T)."
        else:
            hint = (
                "go down one layer at a time: the rule at the top ReLU on w, multiply by W2.T, "
                "the rule at the first ReLU, multiply by W1.T."
            )
        _compare(ex, words, "the map", got, expected, hint=hint)
    _passed(ex, 3)
