"""Type aliases shared by the whole library (kept tiny on purpose)."""

from typing import Any, TypeAlias

import jax

Array: TypeAlias = jax.Array
PRNGKey: TypeAlias = jax.Array
Params: TypeAlias = Any  # a pytree of arrays: NamedTuple, dict or tuple
ArrayLike: TypeAlias = Any  # anything jnp.asarray accepts: arrays, lists, scalars
