"""Kernel-side helpers of the autograder (:mod:`course_lib.instructor.grade`); not for notebooks.

The grader runs a submission with one hidden cell first::

    import course_lib.instructor.harness as _h
    _g<nonce> = _h.install("<nonce>", output_limit)

and wraps every test cell as ``_g<nonce>.begin(id)``, the instructor's test code,
``_g<nonce>.passed(id)``. ``install`` caps what the notebook can print (the rest is dropped, not
sent to the grader), and takes a snapshot of every ``course_lib`` module and of IPython's input
hooks; ``begin`` and ``passed`` compare against it, so a student cell that replaced a self-check,
a helper it uses, or a library reference, or that installed an input transformer to rewrite the
tests, fails the exercise with the reason named. The snapshot also covers the builtins, numpy
and jax.numpy functions the checks use, and the trace and profile hooks. ``passed`` reports
success through a display message carrying the nonce.

These checks run inside the student's process, so they stop the usual tricks, not a determined
attacker (code in the kernel can rewrite anything in it). What keeps such code away from the
grade, the grader and other people's files is outside: the sandbox the kernel runs in
(:mod:`course_lib.instructor.sandbox`) and the worker that judges the kernel's replies.
"""

from __future__ import annotations

import sys
from typing import Any

MIME = "application/vnd.course-grade+json"


class GradingTampered(Exception):
    """The notebook changed the grading code or the self-checks it calls."""


class _Budget:
    def __init__(self, limit: int) -> None:
        self.left = limit
        self.dropped = 0


class _CappedStream:
    """A text stream that forwards at most ``budget.left`` characters, then drops the rest.

    IPython (9.x) keeps a copy of everything a cell prints: around each cell it replaces
    ``sys.stdout.write`` by a function that calls the old one and stores the text. Left alone,
    that copy would keep every dropped gigabyte in memory, so the replacement (``_tee``) is
    caught here and handed only the text that is kept.
    """

    def __init__(self, stream: Any, budget: _Budget) -> None:
        object.__setattr__(self, "_stream", stream)
        object.__setattr__(self, "_budget", budget)
        object.__setattr__(self, "_tee", None)
        object.__setattr__(self, "_inside", False)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "write":
            restored = getattr(value, "__self__", None) is self
            object.__setattr__(self, "_tee", None if restored else value)
        else:
            setattr(self._stream, name, value)

    def write(self, text: str) -> int:
        if self._inside:  # the tee calling back with text already capped
            return self._stream.write(text)
        budget = self._budget
        if budget.left <= 0:
            budget.dropped += len(text)
            return len(text)
        keep = text[: budget.left]
        budget.left -= len(keep)
        budget.dropped += len(text) - len(keep)
        if budget.left <= 0:
            keep += "\n[grader: output limit reached; the rest is not kept]\n"
        if self._tee is None:
            self._stream.write(keep)
        else:
            object.__setattr__(self, "_inside", True)
            try:
                self._tee(keep)
            finally:
                object.__setattr__(self, "_inside", False)
        return len(text)

    def __getattr__(self, name: str) -> Any:
        if name == "write":  # pragma: no cover - write is a class attribute
            raise AttributeError(name)
        return getattr(self._stream, name)


def _course_modules() -> dict[str, Any]:
    return {
        name: module
        for name, module in sys.modules.items()
        if (name == "course_lib" or name.startswith("course_lib."))
        and module is not None
        and name != __name__
    }


#: Modules outside course_lib whose functions the self-checks use: replacing one of their
#: attributes (``numpy.allclose = ...``) is tampering too.
_WATCHED = ("builtins", "numpy", "jax", "jax.numpy", "jax.random", "math", "operator", "functools")
#: The builtins a check relies on (IPython and ipykernel rebind others, such as ``input``,
#: around every cell, so only these are compared).
_BUILTINS = {
    "__import__", "isinstance", "issubclass", "type", "getattr", "hasattr", "setattr", "len",
    "abs", "all", "any", "min", "max", "sum", "round", "sorted", "range", "zip", "map",
    "enumerate", "float", "int", "bool", "str", "repr", "list", "tuple", "dict", "set", "print",
    "callable", "id", "iter", "next", "Exception", "BaseException", "AssertionError",
    "TypeError", "ValueError", "NotImplementedError", "StopIteration",
}  # fmt: skip


def _watched_modules() -> dict[str, Any]:
    mods = _course_modules()
    for name in _WATCHED:
        module = sys.modules.get(name)
        if module is not None:
            mods[name] = module
    return mods


def _snapshot() -> dict[tuple[str, str], int]:
    return {
        (name, attr): id(value)
        for name, module in _watched_modules().items()
        for attr, value in vars(module).items()
        if name != "builtins" or attr in _BUILTINS
    }


def _tracing() -> tuple:
    """Trace and profile hooks: a student's hook could skip the lines of a check that raise."""
    import threading

    return (
        id(sys.gettrace()),
        id(sys.getprofile()),
        id(threading.gettrace()),
        id(threading.getprofile()),
    )


def _hooks() -> tuple:
    try:
        ip = get_ipython()  # type: ignore[name-defined]  # noqa: F821
    except NameError:
        return ()
    # (event callbacks are not compared: %matplotlib inline registers its own)
    return (
        tuple(map(id, ip.input_transformers_cleanup)),
        tuple(map(id, ip.input_transformers_post)),
        tuple(map(id, ip.ast_transformers)),
        tuple(getattr(ip, "custom_exceptions", ())),
    )


class Grader:
    """The kernel side of one grading run (made by :func:`install`).

    Its state lives in slots that a notebook cannot set once it is made (``grader.begin = ...``
    or ``grader._verify = ...`` raise), and every check also compares the grader's own class
    and this module with what they were at install time."""

    __slots__ = (
        "_nonce", "budget", "_modules", "_snapshot", "_hooks", "_tracing", "_display", "_own",
        "_sealed",
    )  # fmt: skip

    def __setattr__(self, name: str, value: Any) -> None:
        if getattr(self, "_sealed", False):
            raise GradingTampered(f"the notebook tried to change the grader's {name!r}")
        object.__setattr__(self, name, value)

    def __init__(self, nonce: str, output_limit: int) -> None:
        import course_lib.checks  # noqa: F401  (the snapshot must include every check module)

        self._sealed = False
        self._nonce = nonce
        self.budget = _Budget(output_limit)
        sys.stdout = _CappedStream(sys.stdout, self.budget)
        sys.stderr = _CappedStream(sys.stderr, self.budget)
        self._modules = set(_watched_modules())
        self._snapshot = _snapshot()
        self._hooks = _hooks()
        self._tracing = _tracing()
        from IPython.display import display

        self._display = display
        self._own = _own()
        self._sealed = True

    def _verify(self) -> None:
        if _own() != self._own:
            raise GradingTampered("the notebook changed the grader itself")
        # modules imported later (a chapter module first used by a test) are added, not judged
        for name in set(_watched_modules()) - self._modules:
            self._modules.add(name)
            for attr, value in vars(sys.modules[name]).items():
                self._snapshot[(name, attr)] = id(value)
        changed = sorted(
            f"{name}.{attr}"
            for (name, attr), ident in self._snapshot.items()
            if name in sys.modules and id(vars(sys.modules[name]).get(attr, _MISSING)) != ident
        )
        if changed:
            shown = ", ".join(changed[:3]) + (" ..." if len(changed) > 3 else "")
            raise GradingTampered(
                f"the notebook replaced or deleted {shown}: the self-checks and the course "
                "library must stay as they are"
            )
        if _tracing() != self._tracing:
            raise GradingTampered(
                "the notebook installed a trace or profile hook (sys.settrace, sys.setprofile), "
                "which could skip lines of the tests"
            )
        if _hooks() != self._hooks:
            raise GradingTampered(
                "the notebook installed IPython input or AST transformers or a custom exception "
                "handler, which could rewrite or hide the tests"
            )

    def begin(self, grade_id: str) -> None:
        """Start a test cell: refuse to run if the grading code was tampered with."""
        self._verify()

    def passed(self, grade_id: str) -> None:
        """End a test cell that raised nothing: report the pass to the grader."""
        self._verify()
        self._display(
            {MIME: {"nonce": self._nonce, "grade_id": grade_id}, "text/plain": "passed"},
            raw=True,
        )


_MISSING = object()


def _own() -> frozenset:
    """Fingerprint of the grader's class and of this module (what a notebook could rebind)."""
    items = [("class", k, id(v)) for k, v in vars(Grader).items()]
    items += [("module", k, id(v)) for k, v in list(globals().items())]
    return frozenset(items)


def install(nonce: str, output_limit: int) -> Grader:
    """Cap the output, snapshot the library, and return the grader object for the test cells."""
    return Grader(nonce, output_limit)
