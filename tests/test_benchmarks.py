"""The benchmark suite's own machinery: the forms it times compute the library's function, and
its helpers (thread pinning, the operation profile, the verdicts) do what the tables claim.

Nothing here is timed (timed assertions are flaky); ``make bench`` does the timing.
"""

import math
import os
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import bench_char_lstm  # noqa: E402
import bench_cnn  # noqa: E402
import suite  # noqa: E402

from course_lib import language_model as lm  # noqa: E402


def test_lstm_forms_compute_the_library_loss_and_gradient():
    text = "the cat sat on the mat; the dog sat on the log. " * 4
    vocab = lm.build_vocab(text)
    ids = lm.encode(vocab, text)
    bench_char_lstm.check_forms(ids, vocab.size, hidden=8)  # raises on a mismatch
    params = lm.init(key=jax.random.key(0), vocab_size=vocab.size, hidden_dim=8)
    x, y = lm.text_windows(ids, key=jax.random.key(1), batch_size=3, seq_len=7)
    want = jax.grad(lm.loss)(params, x, y)
    for name, loss in bench_char_lstm.form_losses(vocab.size).items():
        got = jax.grad(loss)(params, x, y)
        for a, b in zip(got, want, strict=True):
            assert float(jnp.max(jnp.abs(a - b))) < 1e-10, name  # float64 in the tests


def test_lstm_form_check_catches_a_wrong_form(monkeypatch):
    text = "abcabcabd" * 6
    vocab = lm.build_vocab(text)
    ids = lm.encode(vocab, text)
    real = bench_char_lstm.form_losses

    def with_a_wrong_one(V):
        forms = real(V)
        forms["wrong"] = lambda p, x, y: 1.01 * lm.loss(p, x, y)
        return forms

    monkeypatch.setattr(bench_char_lstm, "form_losses", with_a_wrong_one)
    with pytest.raises(AssertionError, match="form 'wrong' differs"):
        bench_char_lstm.check_forms(ids, vocab.size, hidden=4)


def test_cnn_forms_agree_and_train_steps_is_a_form():
    bench_cnn._check_variants_agree()  # raises on a mismatch
    step, mode = bench_cnn._jax_variants()["cnn.train_steps, 4 a call"]
    assert mode == "fused4" and step.__module__ == "course_lib.cnn"


@pytest.mark.skipif(
    not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2,
    reason="needs thread affinity and two CPUs",
)
def test_pinned_to_one_core_pins_every_thread_and_restores():
    before = os.sched_getaffinity(0)
    seen = []

    def run(n):
        tasks = Path("/proc/self/task").iterdir()
        seen.append({int(t.name): os.sched_getaffinity(int(t.name)) for t in tasks})

    pinned = suite.pinned_to_one_core(run)
    pinned(1)
    (inside,) = seen
    assert len(inside) >= 1 and all(cpus == {min(before)} for cpus in inside.values())
    assert os.sched_getaffinity(0) == before

    def fails(n):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        suite.pinned_to_one_core(fails)(1)
    assert os.sched_getaffinity(0) == before  # restored on the way out of an error too


def test_op_profile_finds_the_product_of_a_jitted_function():
    f = jax.jit(lambda a, b: jnp.tanh(a @ b))
    a = jnp.ones((64, 64), jnp.float32)
    seconds, about = suite._op_profile(f, (a, a), n=3)
    assert seconds and all(v >= 0 for v in seconds.values())
    assert sum(seconds.values()) > 0
    # every operation the profiler saw is named in the compiled program with its output shape
    assert any("f32[64,64]" in about.get(name, "") for name in seconds)


def test_verdict_compares_with_peers_only():
    times = {
        "course_lib step": [1.0, 1.0],
        "course_lib step, pinned to one core": [0.1, 0.1],  # ours: never a peer
        "form: other": [0.2, 0.2],  # ours too
        "NumPy by hand": [0.3, 0.3],  # a baseline, not a peer
        "Flax": [2.0, 2.0],
        "PyTorch, 2 threads": [0.8, 0.8],
    }
    (blank, line) = suite._verdict(times, "course_lib step")
    assert "PyTorch, 2 threads" in line and "0.80×" in line and "NOT reached" in line
    (_, line) = suite._verdict(times, "course_lib step", target=0.5)
    assert "reached" in line and "NOT" not in line
    (_, line) = suite._verdict({"course_lib step": [1.0]}, "course_lib step")
    assert "no peer installed" in line


def test_numpy_lenet_equals_jax_grad_and_a_wrong_one_is_caught(monkeypatch):
    assert bench_cnn.check_numpy_matches(8, 6) < 1e-9  # float64 in the tests
    assert bench_cnn.check_numpy_matches(28, 2) < 1e-9
    real = bench_cnn.numpy_lenet_loss_and_grads

    def off_by_a_little(params, x, y):  # every gradient 0.1% too large
        loss, grads = real(params, x, y)
        return loss, jax.tree.map(lambda g: 1.001 * g, grads)

    monkeypatch.setattr(bench_cnn, "numpy_lenet_loss_and_grads", off_by_a_little)
    with pytest.raises(AssertionError, match="NumPy LeNet gradient differs"):
        bench_cnn.check_numpy_matches(8, 4)


def test_numpy_lstm_equals_jax_grad_and_a_wrong_one_is_caught(monkeypatch):
    text = "to be or not to be, that is the question. " * 3
    vocab = lm.build_vocab(text)
    ids = lm.encode(vocab, text)
    assert bench_char_lstm.check_numpy_matches(ids, vocab.size, hidden=6) < 1e-9
    real = bench_char_lstm.numpy_lstm_loss_and_grads

    def forgets_the_forget_gate(params, inputs, targets, V):
        loss, (dW, db, dW_hy, db_y) = real(params, inputs, targets, V)
        p = params[2].shape[0]
        db = db.copy()
        db[p : 2 * p] = 0.0  # as if the forget gate's bias got no gradient
        return loss, (dW, db, dW_hy, db_y)

    monkeypatch.setattr(bench_char_lstm, "numpy_lstm_loss_and_grads", forgets_the_forget_gate)
    with pytest.raises(AssertionError, match="NumPy LSTM gradient differs"):
        bench_char_lstm.check_numpy_matches(ids, vocab.size, hidden=6)


def test_numpy_adam_matches_the_library_adam():
    from course_lib import optim

    rng = np.random.default_rng(0)
    params = [rng.standard_normal((3, 4)), rng.standard_normal(4)]
    grads = [[rng.standard_normal(a.shape) for a in params] for _ in range(3)]
    mine = [a.copy() for a in params]
    adam = bench_cnn._NumpyAdam(mine, 0.1)
    tx = optim.adam(0.1)
    theirs, state = [jnp.asarray(a) for a in params], tx.init([jnp.asarray(a) for a in params])
    for g in grads:
        adam.update(mine, g)
        updates, state = tx.update([jnp.asarray(x) for x in g], state, theirs)
        theirs = optim.apply_updates(theirs, updates)
    for a, b in zip(mine, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def _jaxpr_flops(jaxpr) -> int:
    """2 × multiply-adds of every matrix product and convolution in a jaxpr, sub-jaxprs (jit,
    scan bodies × their length, custom rules) included: an independent count from the program
    JAX actually runs."""
    total = 0
    for eqn in jaxpr.eqns:
        name = eqn.primitive.name
        out = math.prod(eqn.outvars[0].aval.shape)
        if name == "dot_general":
            (contract, _), _ = eqn.params["dimension_numbers"]
            lhs = eqn.invars[0].aval.shape
            total += 2 * out * math.prod(lhs[i] for i in contract)
        elif name == "conv_general_dilated":
            rhs = eqn.invars[1].aval.shape
            out_features = rhs[eqn.params["dimension_numbers"].rhs_spec[0]]
            total += 2 * out * math.prod(rhs) // out_features
        times = eqn.params.get("length", 1) if name == "scan" else 1
        for value in eqn.params.values():
            inner = getattr(value, "jaxpr", value)
            if hasattr(inner, "eqns"):
                total += times * _jaxpr_flops(inner)
    return total


@pytest.mark.parametrize(("size", "batch"), [(8, 64), (28, 128)])
def test_lenet_flop_count_matches_the_program(size, batch):
    from course_lib import cnn

    params = cnn.init(jax.random.key(0), image_size=size)
    x = jnp.zeros((batch, size, size, 1))
    y = jnp.zeros((batch,), jnp.int32)
    jaxpr = jax.make_jaxpr(jax.value_and_grad(cnn.loss))(params, x, y).jaxpr
    assert suite.lenet_flops(size, batch) == _jaxpr_flops(jaxpr)


def test_lstm_flop_count_matches_the_program():
    params = lm.init(key=jax.random.key(0), vocab_size=11, hidden_dim=6)
    x = jnp.zeros((3, 5), jnp.int32)
    jaxpr = jax.make_jaxpr(jax.value_and_grad(lm.loss))(params, x, x).jaxpr
    assert suite.lstm_flops(3, 5, 6, 11) == _jaxpr_flops(jaxpr)


def test_mlp_flop_count_matches_the_program():
    from course_lib import mlp

    sizes, batch = (12, 7, 5, 3), 4
    params = mlp.init(sizes, key=jax.random.key(0), scheme="he")
    x = jnp.zeros((batch, sizes[0]))
    y = jnp.zeros((batch,), jnp.int32)
    jaxpr = jax.make_jaxpr(jax.grad(mlp.loss), static_argnums=3)(params, x, y, "relu").jaxpr
    assert suite.mlp_flops(sizes, batch) == _jaxpr_flops(jaxpr)
    assert suite.mlp_flops(suite.SIZES, suite.BATCH) > 0


# ------------------------------------------------------------------------------ bench_runall


def test_runall_selects_lecture_notebooks_by_name():
    import bench_runall

    every = bench_runall.select(None)
    assert every and all(p.name.startswith("ch") and p.suffix == ".ipynb" for p in every)
    assert bench_runall.parse_args([]).notebooks is None
    args = bench_runall.parse_args(
        ["--notebooks", "ch08a_convolution", "notebooks/ch01_perceptron.ipynb"]
    )
    chosen = bench_runall.select(args.notebooks)
    assert [p.name for p in chosen] == ["ch08a_convolution.ipynb", "ch01_perceptron.ipynb"]
    with pytest.raises(SystemExit, match="no lecture notebook 'ch99_nothing'"):
        bench_runall.select(["ch99_nothing"])


def test_runall_kernel_env_switches_the_cache(monkeypatch):
    import bench_runall

    monkeypatch.setenv("JAX_COMPILATION_CACHE_DIR", "/somewhere/else")
    off = bench_runall.kernel_env(None)
    assert off["JAX_ENABLE_COMPILATION_CACHE"] == "false"
    assert "JAX_COMPILATION_CACHE_DIR" not in off
    on = bench_runall.kernel_env("/tmp/cache")
    assert on["JAX_COMPILATION_CACHE_DIR"] == "/tmp/cache"
    assert on["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] == "0"
    assert "JAX_ENABLE_COMPILATION_CACHE" not in on


def test_runall_cache_settings_are_the_course_kernels():
    """The benchmark's warm runs use the course kernel's cache settings (scripts/course.py)."""
    import bench_runall

    course_script = Path(__file__).resolve().parents[1] / "scripts" / "course.py"
    if not course_script.exists():
        pytest.skip("no scripts/course.py")
    sys.path.insert(0, str(course_script.parent))
    try:
        import course
    finally:
        sys.path.remove(str(course_script.parent))
    settings = course.kernel_env(Path("/root-of-course"))
    assert settings.pop("JAX_COMPILATION_CACHE_DIR").startswith("/root-of-course")
    assert settings == bench_runall.CACHE_SETTINGS


def test_runall_table_has_ratios_totals_and_failures():
    import bench_runall

    rows = [
        bench_runall.Row("a.ipynb", 40.0, 50.0, 10.0, 3, 2_000_000),
        bench_runall.Row("b.ipynb", 20.0, 30.0, 10.0, 1, 500_000),
    ]
    lines = bench_runall.table(rows)
    assert lines[0].startswith("| notebook | no cache (s) | cold (s) | warm (s) | warm / no cache")
    assert lines[2] == "| a.ipynb | 40.0 | 50.0 | 10.0 | 0.25 | 3 files, 2.0 MB |"
    assert lines[-1] == "| **all 2** | **60.0** | **80.0** | **20.0** | **0.33** | |"
    rows.append(bench_runall.Row("c.ipynb", 5.0, None, 2.0))
    lines = bench_runall.table(rows)
    assert "| c.ipynb | 5.0 | FAILED | 2.0 |  |" in lines[4]
    assert lines[-1].startswith("| **all 2** (of 3) | **60.0** |")
    assert len(bench_runall.table(rows[:1])) == 3  # no total row for one notebook
