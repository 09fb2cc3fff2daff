"""The matrix-product precision that ``import course_lib`` sets (see the package docstring).

Each case runs in a fresh interpreter, since the option is process-wide and the test session
has long since imported the package.
"""

import os
import subprocess
import sys
import textwrap

import pytest

PROBE = textwrap.dedent(
    """
    import jax, jax.numpy as jnp
    import course_lib
    from course_lib import cnn, mlp  # the modules whose products the notebooks lean on
    a = jnp.ones((4, 8), jnp.float32)
    dot = jax.jit(lambda a: a @ a.T).lower(a).as_text()
    x, w = jnp.ones((2, 1, 6, 6)), jnp.ones((3, 1, 3, 3))
    conv = jax.jit(lambda x, w: jax.lax.conv_general_dilated(x, w, (1, 1), "SAME")).lower(x, w)
    print(jax.config.jax_default_matmul_precision)
    print([line.split("precision")[1] for line in dot.splitlines() if "dot_general" in line])
    print("HIGHEST" in conv.as_text() and "DEFAULT" not in conv.as_text())
    """
)


def _probe(env_value: str | None) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k != "JAX_DEFAULT_MATMUL_PRECISION"}
    if env_value is not None:
        env["JAX_DEFAULT_MATMUL_PRECISION"] = env_value
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True
    )
    return out.stdout.strip().splitlines()


def test_importing_course_lib_sets_full_float32_precision():
    precision, dot, conv = _probe(None)
    assert precision == "highest"
    # The lowered program asks XLA for full precision in products and convolutions.
    assert "HIGHEST, HIGHEST" in dot
    assert conv == "True"


def test_a_precision_the_user_chose_is_kept():
    precision, dot, _ = _probe("bfloat16")
    assert precision == "bfloat16"
    assert "HIGHEST" not in dot


@pytest.mark.parametrize("shape", [(64, 128), (3, 5)])
def test_on_the_cpu_highest_computes_the_same_bits_as_default(shape):
    """So the switch costs CPU users nothing: the stored outputs were made on a CPU."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    m, n = shape
    a = jax.random.normal(jax.random.key(0), (m, n), jnp.float32)
    b = jax.random.normal(jax.random.key(1), (n, 2 * m), jnp.float32)
    outs = []
    for precision in ("default", "highest"):
        with jax.default_matmul_precision(precision):
            outs.append(np.asarray(jax.jit(lambda a, b: jnp.tanh(a @ b))(a, b)))
    np.testing.assert_array_equal(outs[0], outs[1])
