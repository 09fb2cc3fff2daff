"""Re-run the bad-input calls of the audit (Part C of ../shared/audits/grader-generator-inputs.md).

Run: ``.venv/bin/python benchmarks/bad_input_tally.py`` (about 20 s). Uses only the standard
library and course_lib (with JAX and NumPy, course_lib's own dependencies, to build inputs).

Each row is (audit row, module.function, description, thunk, expected kind): ``error`` for bad
input, ``valid`` for input that must work, ``note`` for NaN-in/NaN-out calls the audit judged
defensible. A result is classified as

- good: a ValueError/TypeError whose message names an argument in backticks (or, for a name
  looked up in a registry, says "unknown <kind> '<name>'; choose one of ...");
- fine: valid input, handled (every number in the result finite);
- note: a ``note`` row that returned NaN (NaN in, NaN out);
- BAD: any other exception (a raw JAX/NumPy/Python trace);
- WORST: a bad call that returned (NaN/inf, or a silently wrong answer), or valid input that
  gave NaN/inf.
"""

# ruff: noqa: E501 (one audit row per line reads best as a table)
from __future__ import annotations

import collections
import math
import re

import jax
import jax.numpy as jnp
import numpy as np

from course_lib import (
    activations,
    autoencoders,
    cnn,
    data,
    gradcheck,
    language_model,
    losses,
    mlp,
    optim,
    perceptron,
    rnn,
)
from course_lib import linear_models as lm
from course_lib import word2vec as w2v

K = jax.random.key(0)
NAN, INF = math.nan, math.inf
X32 = [[1.0, 2.0], [-1.0, 0.5], [2.0, -1.0]]
Y3 = [1.0, -1.0, 1.0]
EMB = w2v.init(key=K, vocab_size=5, dim=3)
NET = mlp.init([2, 3, 1], key=K)
RNN = rnn.init(key=K, input_dim=2, hidden_dim=3, output_dim=1)
VOC = language_model.build_vocab("abc")
IMG = jnp.ones((1, 5, 5, 1))

ROWS = [
    (1, "perceptron.predict", "w wrong shape", lambda: perceptron.predict([1, 2, 3], X32), "error"),
    (2, "perceptron.predict", "complex X", lambda: perceptron.predict([1, 2], np.ones((1, 2), complex)), "error"),
    (3, "perceptron.predict", "object X", lambda: perceptron.predict([1, 2], np.array([[1, None]], object)), "error"),
    (4, "perceptron.accuracy", "labels in {0,1}", lambda: perceptron.accuracy([1, 2], X32, [0, 1, 0]), "error"),
    (5, "perceptron.epoch", "negative lr", lambda: perceptron.epoch([0, 0], X32, Y3, lr=-1.0), "error"),
    (6, "perceptron.epoch", "NaN in X", lambda: perceptron.epoch([0, 0], [[NAN, 1.0]], [1.0]), "error"),
    (7, "perceptron.epoch", "python lists", lambda: perceptron.epoch([0.0, 0.0], X32, Y3), "valid"),
    (8, "perceptron.epoch", "int X", lambda: perceptron.epoch([0, 0], [[1, 2]], [1]), "valid"),
    (9, "perceptron.epoch", "empty X (0,2)", lambda: perceptron.epoch([0, 0], np.zeros((0, 2)), np.zeros(0)), "error"),
    (10, "perceptron.fit", "epochs=0", lambda: perceptron.fit(X32, Y3, epochs=0), "error"),
    (11, "perceptron.fit", "epochs=-3", lambda: perceptron.fit(X32, Y3, epochs=-3), "error"),
    (12, "perceptron.fit", "shuffle_key=int", lambda: perceptron.fit(X32, Y3, epochs=1, shuffle_key=0), "error"),
    (13, "perceptron.fit", "typed key", lambda: perceptron.fit(X32, Y3, epochs=2, shuffle_key=K), "valid"),
    (14, "perceptron.fit", "y length mismatch", lambda: perceptron.fit(X32, [1.0, -1.0], epochs=1), "error"),
    (15, "perceptron.fit", "float64 w0, float32 X", lambda: perceptron.fit(np.float32(X32), Y3, epochs=2, w0=np.array([1.0, 0.0])), "valid"),
    (16, "losses.hinge", "NaN input", lambda: losses.hinge([NAN, 2.0]), "note"),
    (17, "losses.logistic", "large z", lambda: losses.logistic([-1000.0, 1000.0]), "valid"),
    (18, "losses.hinge", "string input", lambda: losses.hinge("abc"), "error"),
    (19, "losses.hinge", "complex input", lambda: losses.hinge(np.ones(2, complex)), "error"),
    (20, "activations.sigmoid", "object array", lambda: activations.sigmoid(np.array([1, None], object)), "error"),
    (21, "activations.sigmoid_grad", "large |v|", lambda: activations.sigmoid_grad([-1e4, 1e4]), "valid"),
    (22, "activations.leaky_relu", "alpha=NaN", lambda: activations.leaky_relu([1.0], alpha=NAN), "error"),
    (23, "activations.relu", "python list", lambda: activations.relu([-1.0, 2.0]), "valid"),
    (24, "optim.sgd", "learning_rate=-0.1", lambda: optim.sgd(-0.1), "error"),
    (25, "optim.sgd", "learning_rate=0", lambda: optim.sgd(0.0), "error"),
    (26, "optim.adam", "learning_rate=NaN", lambda: optim.adam(NAN), "error"),
    (27, "optim.adam", "b1=1.5", lambda: optim.adam(0.1, b1=1.5), "error"),
    (28, "optim.adam", "update with NaN grads", lambda: optim.adam(0.1).update({"w": jnp.array([NAN])}, optim.adam(0.1).init({"w": jnp.zeros(1)}))[0], "note"),
    (29, "optim.apply_updates", "mismatched trees", lambda: optim.apply_updates({"w": jnp.zeros(2)}, {"v": jnp.zeros(2)}), "error"),
    (30, "optim.apply_updates", "shape (2,)+(3,)", lambda: optim.apply_updates({"w": jnp.zeros(2)}, {"w": jnp.zeros(3)}), "error"),
    (31, "optim.exponential_decay", "rate=-1", lambda: optim.exponential_decay(0.1, -1.0), "error"),
    (32, "optim.step_decay", "every=0", lambda: optim.step_decay(0.1, 0.5, 0), "error"),
    (33, "lm.ridge_closed_form", "lam=-1", lambda: lm.ridge_closed_form(X32, Y3, -1.0), "error"),
    (34, "lm.ridge_closed_form", "duplicate cols, lam=0", lambda: lm.ridge_closed_form([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]], Y3), "error"),
    (35, "lm.ridge_closed_form", "y shape (3,1)", lambda: lm.ridge_closed_form(X32, [[1.0], [2.0], [3.0]]), "error"),
    (36, "lm.multiclass_fit", "key=int", lambda: lm.multiclass_fit(X32, [0, 1, 2], loss="softmax", lr=0.1, epochs=1, key=0), "error"),
    (37, "lm.multiclass_fit", "label 5, k=3", lambda: lm.multiclass_fit(X32, [0, 1, 5], loss="softmax", lr=0.1, epochs=1, key=K, num_classes=3), "error"),
    (38, "lm.multiclass_fit", "float labels", lambda: lm.multiclass_fit(X32, [0.0, 1.0, 2.0], loss="softmax", lr=0.1, epochs=1, key=K), "error"),
    (39, "lm.predict_class", "W (3,3) vs X (3,2)", lambda: lm.predict_class(np.ones((3, 3)), X32), "error"),
    (40, "autoencoders.pca", "k=0", lambda: autoencoders.pca(X32, 0), "error"),
    (41, "autoencoders.pca", "k=5 > d", lambda: autoencoders.pca(X32, 5), "error"),
    (42, "autoencoders.truncated_svd", "NaN D", lambda: autoencoders.truncated_svd([[NAN, 1.0], [1.0, 2.0]], 1), "error"),
    (43, "autoencoders.init_linear", "typed key", lambda: autoencoders.init_linear(key=K, d=2, k=3), "valid"),
    (44, "autoencoders.init_linear", "d=0", lambda: autoencoders.init_linear(key=K, d=0, k=1), "error"),
    (45, "word2vec.context_pairs", "window=0", lambda: w2v.context_pairs([0, 1, 2], 0), "error"),
    (46, "word2vec.context_pairs", "float ids", lambda: w2v.context_pairs([0.5, 1.5, 2.5], 1), "error"),
    (47, "word2vec.init", "vocab_size=-1", lambda: w2v.init(key=K, vocab_size=-1, dim=2), "error"),
    (48, "word2vec.tokenize", "bytes", lambda: w2v.tokenize(b"abc"), "error"),
    (49, "mlp.init", "sizes with 0", lambda: mlp.init([2, 0, 1], key=K), "error"),
    (50, "mlp.init", "key=int", lambda: mlp.init([2, 3, 1], key=0), "error"),
    (51, "mlp.forward", "X (3,5)", lambda: mlp.forward(NET, np.ones((3, 5))), "error"),
    (52, "mlp.forward", "unknown activation", lambda: mlp.forward(NET, X32, "foo"), "error"),
    (53, "mlp.train", "lr=-1", lambda: mlp.train(NET, X32, [0, 0, 0], lr=-1.0, steps=1), "error"),
    (54, "mlp.train", "steps=0", lambda: mlp.train(NET, X32, [0, 0, 0], lr=0.1, steps=0), "error"),
    (55, "cnn.output_size", "f > n", lambda: cnn.output_size(3, 5), "error"),
    (56, "cnn.output_size", "stride=0", lambda: cnn.output_size(5, 3, 0, 0), "error"),
    (57, "cnn.conv2d", "x 3-D", lambda: cnn.conv2d(jnp.ones((5, 5, 1)), jnp.ones((3, 3, 1, 2))), "error"),
    (58, "cnn.conv2d", "channel mismatch", lambda: cnn.conv2d(jnp.ones((1, 5, 5, 3)), jnp.ones((3, 3, 1, 2))), "error"),
    (59, "cnn.conv2d", "padding=-1", lambda: cnn.conv2d(IMG, jnp.ones((3, 3, 1, 2)), padding=-1), "error"),
    (60, "cnn.max_pool", "size=0", lambda: cnn.max_pool(IMG, 0), "error"),
    (61, "cnn.max_pool", "5x5, size 2", lambda: cnn.max_pool(IMG, 2), "error"),
    (62, "rnn.init", "hidden_dim=0", lambda: rnn.init(key=K, input_dim=2, hidden_dim=0, output_dim=1), "error"),
    (63, "rnn.init", "typed key", lambda: rnn.init(key=K, input_dim=3, hidden_dim=2, output_dim=1), "valid"),
    (64, "rnn.forward", "xs (4,5)", lambda: rnn.forward(RNN, np.ones((4, 5))), "error"),
    (65, "rnn.forward", "xs empty (0,2)", lambda: rnn.forward(RNN, np.ones((0, 2))), "error"),
    (66, "rnn.clip_by_norm", "max_norm=-1", lambda: rnn.clip_by_norm({"w": jnp.ones(2)}, -1.0), "error"),
    (67, "rnn.spectral_radius", "non-square W", lambda: rnn.spectral_radius(np.ones((2, 3))), "error"),
    (68, "language_model.build_vocab", "empty text", lambda: language_model.build_vocab(""), "error"),
    (69, "language_model.encode", "unknown char", lambda: language_model.encode(VOC, "abz"), "error"),
    (70, "language_model.decode", "id 7", lambda: language_model.decode(VOC, [0, 7]), "error"),
    (71, "language_model.text_windows", "seq_len > len(ids)", lambda: language_model.text_windows(jnp.arange(5) % 3, key=K, batch_size=1, seq_len=10), "error"),
    (72, "language_model.split_ids", "val_fraction=1.5", lambda: language_model.split_ids(jnp.arange(10), val_fraction=1.5), "error"),
    (73, "data.add_bias", "1-D X", lambda: data.add_bias([1.0, 2.0, 3.0]), "error"),
    (74, "data.add_bias", "string X", lambda: data.add_bias("abc"), "error"),
    (75, "data.linearly_separable", "n=0", lambda: data.linearly_separable(key=K, n=0), "error"),
    (76, "data.linearly_separable", "margin > radius", lambda: data.linearly_separable(key=K, n=5, margin=2.0, radius=1.0), "error"),
    (77, "data.linearly_separable", "key=int", lambda: data.linearly_separable(key=0, n=5), "error"),
    (78, "data.linearly_separable", "n=2.5", lambda: data.linearly_separable(key=K, n=2.5), "error"),
    (79, "data.minibatches", "batch_size=0", lambda: data.minibatches(data.Dataset(jnp.ones((4, 2)), jnp.ones(4)), key=K, batch_size=0), "error"),
    (80, "data.epoch_orders", "uint32 key of len 3", lambda: data.epoch_orders(key=np.zeros(3, np.uint32), n=3, epochs=1), "error"),
    (81, "data.blobs", "typed key", lambda: data.blobs(key=K, n=4), "valid"),
    (82, "gradcheck.finite_difference", "eps=0", lambda: gradcheck.finite_difference(lambda w: jnp.sum(w**2), [1.0, 2.0], 0.0), "error"),
    (83, "gradcheck.finite_difference", "int w", lambda: gradcheck.finite_difference(lambda w: jnp.sum(w**2), [1, 2], 1e-3), "valid"),
    (84, "gradcheck.finite_difference", "f returns vector", lambda: gradcheck.finite_difference(lambda w: w**2, [1.0, 2.0], 1e-3), "error"),
    (85, "gradcheck.relative_error", "both zero", lambda: gradcheck.relative_error([0.0, 0.0], [0.0, 0.0]), "valid"),
    (86, "gradcheck.relative_error", "shape mismatch", lambda: gradcheck.relative_error([0.0, 0.0], [0.0, 0.0, 0.0]), "error"),
    (87, "word2vec.cbow_loss", "target 99 (vocab 5)", lambda: w2v.cbow_loss(EMB, jnp.array([0, 1]), 99), "error"),
    (88, "word2vec.cbow_loss", "context -7 / 99", lambda: w2v.cbow_loss(EMB, jnp.array([-7, 99]), 1), "error"),
    (89, "perceptron.epoch", "lr=NaN", lambda: perceptron.epoch([0, 0], X32, Y3, lr=NAN), "error"),
    (90, "perceptron.epoch", "lr=inf", lambda: perceptron.epoch([0, 0], X32, Y3, lr=INF), "error"),
    (91, "perceptron.epoch", "float64 X, float32 w", lambda: perceptron.epoch(np.zeros(2, np.float32), np.array(X32), Y3), "valid"),
    (92, "mlp.forward", "NaN in X", lambda: mlp.forward(NET, [[NAN, 1.0]]), "error"),
    (93, "mlp.init", "typed key", lambda: mlp.init([2, 3, 1], key=K), "valid"),
    (94, "lm.fisher_direction", "one class only", lambda: lm.fisher_direction(X32, [1.0, 1.0, 1.0]), "error"),
    (95, "lm.fisher_direction", "n=2, singular S_w", lambda: lm.fisher_direction([[0.0, 1.0], [1.0, 0.0]], [1.0, -1.0]), "error"),
    (96, "lm.ridge_closed_form", "empty X (0,2)", lambda: lm.ridge_closed_form(np.zeros((0, 2)), np.zeros(0)), "error"),
    (97, "autoencoders.pca", "one row", lambda: autoencoders.pca([[1.0, 2.0, 3.0]], 1), "error"),
    (98, "rnn.forward", "h0 wrong shape", lambda: rnn.forward(RNN, np.ones((4, 2)), h0=np.zeros(5)), "error"),
    (99, "cnn.conv2d", "inf in x", lambda: cnn.conv2d(jnp.full((1, 1, 1, 1), INF), jnp.ones((1, 1, 1, 1))), "error"),
    (100, "language_model.decode", "negative id", lambda: language_model.decode(VOC, [-1]), "error"),
    (101, "data.add_bias", "empty X (0,2)", lambda: data.add_bias(np.zeros((0, 2))), "valid"),
    (102, "gradcheck.vector_relative_error", "both zero", lambda: gradcheck.vector_relative_error([0.0], [0.0]), "valid"),
    (103, "optim.sgd", 'learning_rate="0.1"', lambda: optim.sgd("0.1"), "error"),
    (104, "activations.leaky_relu", "int input", lambda: activations.leaky_relu(np.array([-2, 3])), "valid"),
]  # fmt: skip

NAMED = re.compile(r"`[^`]+`|unknown [\w ]+ '[^']*'; choose one of")


def all_finite(out) -> bool:
    leaves = [x for x in jax.tree.leaves(out) if hasattr(x, "dtype") or isinstance(x, float)]
    return all(np.all(np.isfinite(np.asarray(x, np.float64))) for x in leaves)


def classify(thunk, kind: str) -> tuple[str, str]:
    try:
        out = thunk()
    except (ValueError, TypeError) as e:
        msg = f"{type(e).__name__}: {e}"
        return ("good" if NAMED.search(str(e)) else "BAD"), msg
    except Exception as e:  # noqa: BLE001 - any other exception is a raw trace
        return "BAD", f"{type(e).__name__}: {e}"
    text = repr(out).replace("\n", " ")
    if kind == "valid":
        return ("fine" if all_finite(out) else "WORST"), text
    if kind == "note":
        return ("note" if not all_finite(out) else "fine"), text
    return "WORST", text  # bad input that returned instead of raising


def main() -> None:
    tally = collections.Counter()
    for row, fn, what, thunk, kind in ROWS:
        verdict, text = classify(thunk, kind)
        tally[verdict] += 1
        print(f"{row:>4}  {verdict:<5}  {fn:<32} {what:<24} {text[:110]}")
    order = ["good", "fine", "note", "BAD", "WORST"]
    print(f"\n{len(ROWS)} calls: " + ", ".join(f"{tally[k]} {k}" for k in order))


if __name__ == "__main__":
    main()
