"""course_lib: the pure-JAX library behind the deep-learning course notebooks.

One module per course concept:

- :mod:`course_lib.data`: keyed synthetic datasets with a planted answer, and the loader interface.
- :mod:`course_lib.activations`: activation functions and their hand-written derivatives.
- :mod:`course_lib.losses`: margin-based losses and softmax cross-entropy, with derivatives.
- :mod:`course_lib.perceptron`: the perceptron and margin-loss SGD as jitted, scanned epochs.
- :mod:`course_lib.plotting`: figures the notebooks share (matplotlib, never inside traced code).
- :mod:`course_lib.widgets`: ipywidgets demos whose callbacks are plain, testable functions.
- :mod:`course_lib.checks`: self-checks that exercise notebooks call with a student's function.
- :mod:`course_lib.exercises`: generates ``exercises/`` from ``solutions/``.

Notebooks import the modules they need (``from course_lib import perceptron``); nothing is
re-exported here so that every name has one home.
"""

__version__ = "0.1.0"
