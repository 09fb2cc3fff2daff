r"""Backpropagation on an explicit computational graph: path enumeration vs dynamic programming.

A computational graph is a DAG whose nodes hold values $y(i)$ and whose edges $(i, j)$ carry
the *local derivative* $z(i, j) = \partial y(j) / \partial y(i)$, evaluated at the forward pass.
The derivative of an output $o$ with respect to a node $w$ is the **pathwise aggregation**
(Aggarwal Lemma 3.2.1, Eq 3.4):

$$
\frac{\partial o}{\partial w} \;=\; \sum_{P \in \mathcal P(w \to o)} \; \prod_{(i,j) \in P} z(i, j),
$$

a sum over every directed path from $w$ to $o$. Written as it stands, it costs one product per
path, and the number of paths grows exponentially with depth. **Dynamic programming** (Eq 3.8)
gets the same number in time linear in the number of edges, by visiting the nodes in reverse
topological order:

$$
S(o, o) = 1, \qquad S(i, o) = \sum_{j \in A(i)} z(i, j)\, S(j, o),
$$

where $A(i)$ are the successors of $i$. That recursion *is* reverse-mode automatic
differentiation: $S(i, o) = \partial o / \partial y(i)$ for every node at once.

This module is deliberately small and scalar (plain Python floats, like micrograd): it exists
to make the two algorithms and their costs visible, and its tests compare both with
``jax.grad``. Build a graph with :class:`GraphBuilder`, run :func:`forward`, get the local
derivatives with :func:`local_derivatives`, then compare :func:`path_sum` and
:func:`reverse_accumulate`. :func:`power_graph` is the book's Fig 3.4 ($o = w^{32}$ from 5
layers of 2 multiplying nodes); :func:`layered_graph` is a fully connected layered graph whose
path count is $\text{width}^\text{depth}$.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple

# Each op: (forward on the parents' values, local derivatives w.r.t. each parent).
# The local derivative functions see the parents' values and the node's own value.
_Forward = Callable[[Sequence[float]], float]
_Local = Callable[[Sequence[float], float], Sequence[float]]


def _sigmoid(v: float) -> float:
    return 1.0 / (1.0 + math.exp(-v)) if v >= 0 else math.exp(v) / (1.0 + math.exp(v))


OPS: dict[str, tuple[int | None, _Forward, _Local]] = {
    # name: (number of parents or None for any, forward, local derivatives)
    "copy": (1, lambda p: p[0], lambda p, y: (1.0,)),
    "add": (None, lambda p: math.fsum(p), lambda p, y: (1.0,) * len(p)),
    "mul": (
        None,
        lambda p: math.prod(p),
        # d(prod)/d(p_k) = product of the other parents (no division: zeros are fine).
        lambda p, y: tuple(math.prod(p[:k] + p[k + 1 :]) for k in range(len(p))),
    ),
    "square": (1, lambda p: p[0] * p[0], lambda p, y: (2.0 * p[0],)),
    "sin": (1, lambda p: math.sin(p[0]), lambda p, y: (math.cos(p[0]),)),
    "cos": (1, lambda p: math.cos(p[0]), lambda p, y: (-math.sin(p[0]),)),
    "exp": (1, lambda p: math.exp(p[0]), lambda p, y: (y,)),
    "sigmoid": (1, lambda p: _sigmoid(p[0]), lambda p, y: (y * (1.0 - y),)),
    "tanh": (1, lambda p: math.tanh(p[0]), lambda p, y: (1.0 - y * y,)),
    "relu": (1, lambda p: max(p[0], 0.0), lambda p, y: (1.0 if p[0] > 0 else 0.0,)),
    # sum of the parents, then sigmoid: a neuron with unit weights (for layered graphs)
    "sigmoid_sum": (
        None,
        lambda p: _sigmoid(math.fsum(p)),
        lambda p, y: (y * (1.0 - y),) * len(p),
    ),
    # mean of the parents, then sigmoid: stays away from saturation in wide layers
    "sigmoid_mean": (
        None,
        lambda p: _sigmoid(math.fsum(p) / len(p)),
        lambda p, y: (y * (1.0 - y) / len(p),) * len(p),
    ),
}


class Graph(NamedTuple):
    """A computational graph: nodes in topological order (every parent before its children).

    Attributes:
        names: the node names, e.g. ``("w", "y", "o")``.
        ops: each node's operation, a key of :data:`OPS`, or ``"input"``.
        parents: each node's parent indices (empty for inputs).
    """

    names: tuple[str, ...]
    ops: tuple[str, ...]
    parents: tuple[tuple[int, ...], ...]

    @property
    def edges(self) -> list[tuple[int, int]]:
        """Every edge ``(i, j)``: node i is a parent of node j."""
        return [(i, j) for j, ps in enumerate(self.parents) for i in ps]

    def index(self, name: str) -> int:
        """The position of the node called ``name``."""
        try:
            return self.names.index(name)
        except ValueError:
            raise KeyError(f"no node called {name!r}; the nodes are {list(self.names)}.") from None

    def successors(self) -> list[list[int]]:
        """``A(i)`` for every node: the nodes that take node i as an input."""
        out: list[list[int]] = [[] for _ in self.names]
        for i, j in self.edges:
            out[i].append(j)
        return out


class GraphBuilder:
    """Build a :class:`Graph` node by node; parents must already exist (so the order is
    topological by construction).

    >>> g = GraphBuilder()
    >>> w = g.input("w")
    >>> y = g.node("y", "square", w)
    >>> o = g.node("o", "cos", y)
    >>> graph = g.build()
    >>> graph.names
    ('w', 'y', 'o')
    """

    def __init__(self) -> None:
        self._names: list[str] = []
        self._ops: list[str] = []
        self._parents: list[tuple[int, ...]] = []

    def input(self, name: str) -> int:
        """Add an input node; returns its index."""
        return self._add(name, "input", ())

    def node(self, name: str, op: str, *parents: int) -> int:
        """Add a node computing ``op`` of ``parents`` (indices); returns its index."""
        if op not in OPS:
            raise ValueError(f"unknown op {op!r}; choose one of {sorted(OPS)}.")
        arity = OPS[op][0]
        if not parents or (arity is not None and len(parents) != arity):
            want = "at least 1" if arity is None else str(arity)
            raise ValueError(f"op {op!r} takes {want} parent(s), got {len(parents)} for {name!r}.")
        for p in parents:
            if not isinstance(p, int) or not 0 <= p < len(self._names):
                raise ValueError(f"parent {p!r} of {name!r} is not an existing node index.")
        if len(set(parents)) != len(parents):
            raise ValueError(
                f"node {name!r} lists a parent twice; use one edge per parent "
                "(e.g. 'square' instead of 'mul' of a node with itself)."
            )
        return self._add(name, op, tuple(parents))

    def _add(self, name: str, op: str, parents: tuple[int, ...]) -> int:
        if not isinstance(name, str) or not name:
            raise TypeError(f"a node name must be a non-empty string, got {name!r}.")
        if name in self._names:
            raise ValueError(f"there is already a node called {name!r}.")
        self._names.append(name)
        self._ops.append(op)
        self._parents.append(parents)
        return len(self._names) - 1

    def build(self) -> Graph:
        """The finished graph."""
        return Graph(tuple(self._names), tuple(self._ops), tuple(self._parents))


def forward(graph: Graph, inputs: Mapping[str, float]) -> list[float]:
    """The value of every node, in the graph's (topological) order.

    Args:
        graph: the graph.
        inputs: a value for every input node, by name.
    """
    missing = [n for n, op in zip(graph.names, graph.ops, strict=True) if op == "input"]
    missing = [n for n in missing if n not in inputs]
    if missing:
        raise ValueError(f"no value given for input node(s) {missing}.")
    values: list[float] = []
    for name, op, parents in zip(graph.names, graph.ops, graph.parents, strict=True):
        if op == "input":
            values.append(float(inputs[name]))
        else:
            values.append(float(OPS[op][1]([values[p] for p in parents])))
    return values


def local_derivatives(graph: Graph, values: Sequence[float]) -> dict[tuple[int, int], float]:
    r"""$z(i, j) = \partial y(j) / \partial y(i)$ for every edge, at the given forward values."""
    if len(values) != len(graph.names):
        raise ValueError(f"expected {len(graph.names)} node values, got {len(values)}.")
    z: dict[tuple[int, int], float] = {}
    for j, (op, parents) in enumerate(zip(graph.ops, graph.parents, strict=True)):
        if op == "input":
            continue
        local = OPS[op][2]([values[p] for p in parents], values[j])
        for i, d in zip(parents, local, strict=True):
            z[(i, j)] = float(d)
    return z


class PathSum(NamedTuple):
    """The result of :func:`path_sum`: the derivative and what it cost."""

    derivative: float
    paths: int  # how many paths from the source to the sink were enumerated
    multiplications: int  # one per edge of every path


def count_paths(graph: Graph, source: str, sink: str) -> int:
    """The number of directed paths from ``source`` to ``sink`` (counted by DP, not enumerated)."""
    s, t = graph.index(source), graph.index(sink)
    succ = graph.successors()
    count = [0] * len(graph.names)
    count[t] = 1
    for i in range(t - 1, s - 1, -1):
        count[i] = sum(count[j] for j in succ[i])
    return count[s]


def path_sum(
    graph: Graph,
    z: Mapping[tuple[int, int], float],
    source: str,
    sink: str,
    *,
    max_paths: int = 1_000_000,
) -> PathSum:
    r"""$\partial\,\text{sink} / \partial\,\text{source}$ by enumerating every path (Eq 3.4).

    Exponential in depth on purpose: it refuses (``ValueError``) when there are more than
    ``max_paths`` paths, which :func:`count_paths` tells cheaply.
    """
    s, t = graph.index(source), graph.index(sink)
    n_paths = count_paths(graph, source, sink)
    if n_paths > max_paths:
        raise ValueError(
            f"{n_paths} paths from {source!r} to {sink!r}: more than max_paths={max_paths}; "
            "this is exactly why backpropagation uses dynamic programming."
        )
    succ = graph.successors()
    total = 0.0
    paths = 0
    mults = 0
    # Depth-first enumeration with an explicit stack of (node, product so far, edges so far).
    stack = [(s, 1.0, 0)]
    while stack:
        i, product, length = stack.pop()
        if i == t:
            total += product
            paths += 1
            mults += length
            continue
        for j in succ[i]:
            if j <= t:  # nodes after the sink in topological order cannot reach it
                stack.append((j, product * z[(i, j)], length + 1))
    return PathSum(total, paths, mults)


class ReverseResult(NamedTuple):
    """The result of :func:`reverse_accumulate`."""

    adjoints: list[float]  # S(i, sink) = d sink / d y(i) for every node i
    multiplications: int  # one per edge visited


def reverse_accumulate(
    graph: Graph, z: Mapping[tuple[int, int], float], sink: str
) -> ReverseResult:
    r"""$S(i, o) = \partial o / \partial y(i)$ for every node, by dynamic programming (Eq 3.8).

    $S(o, o) = 1$, then in reverse topological order $S(i, o) = \sum_{j \in A(i)} z(i,j) S(j, o)$:
    one multiplication per edge, whatever the number of paths.
    """
    t = graph.index(sink)
    succ = graph.successors()
    adj = [0.0] * len(graph.names)
    adj[t] = 1.0
    mults = 0
    for i in range(t - 1, -1, -1):
        acc = 0.0
        for j in succ[i]:
            if j <= t:
                acc += z[(i, j)] * adj[j]
                mults += 1
        adj[i] = acc
    return ReverseResult(adj, mults)


def gradient(graph: Graph, inputs: Mapping[str, float], sink: str) -> dict[str, float]:
    """Reverse mode end to end: forward, local derivatives, DP; the adjoint of every input."""
    values = forward(graph, inputs)
    result = reverse_accumulate(graph, local_derivatives(graph, values), sink)
    return {
        name: result.adjoints[i]
        for i, (name, op) in enumerate(zip(graph.names, graph.ops, strict=True))
        if op == "input"
    }


# ------------------------------------------------------------------------------ example graphs


def sin_cos_graph() -> Graph:
    r"""Aggarwal's Fig 3.3: $o = \sin(w^2) + \cos(w^2)$, two paths that share their first edge.

    Nodes ``w -> y = w^2 -> (p = cos y, q = sin y) -> o = p + q``. Both paths pass through
    $y$, so $\partial o/\partial w = 2w\,(\cos w^2 - \sin w^2)$ (Eq 3.5).
    """
    g = GraphBuilder()
    w = g.input("w")
    y = g.node("y", "square", w)
    p = g.node("p", "cos", y)
    q = g.node("q", "sin", y)
    g.node("o", "add", p, q)
    return g.build()


def power_graph(layers: int = 5) -> Graph:
    r"""Aggarwal's Fig 3.4: $o = w^{2^L}$ from $L$ layers of two multiplying nodes.

    Layer 1 copies $w$ into two nodes; every node of layer $k + 1$ multiplies the two nodes of
    layer $k$, so layer $k$ holds $w^{2^{k-1}}$; the output multiplies the two nodes of layer
    $L$. There are $2^L$ paths from $w$ to $o$, each with product $w^{2^L - 1}$, so
    $\partial o / \partial w = 2^L\, w^{2^L - 1}$ ($32 w^{31}$ for the book's $L = 5$), while the
    graph has only $4L$ edges.
    """
    if not isinstance(layers, int) or isinstance(layers, bool) or layers < 1:
        raise ValueError(f"`layers` must be an int >= 1, got {layers!r}.")
    g = GraphBuilder()
    w = g.input("w")
    prev = (g.node("h1a", "copy", w), g.node("h1b", "copy", w))
    for k in range(2, layers + 1):
        prev = (g.node(f"h{k}a", "mul", *prev), g.node(f"h{k}b", "mul", *prev))
    g.node("o", "mul", *prev)
    return g.build()


def layered_graph(width: int, depth: int, *, average: bool = False) -> Graph:
    r"""A fully connected layered graph: input $w$, ``depth`` layers of ``width`` nodes, output.

    Every node of layer 1 is $\sigma(w)$; every later node is $\sigma(\text{sum of the previous
    layer})$, and the output sums the last layer. There are $\text{width}^{\text{depth}}$
    paths from $w$ to $o$ (a million for width 100 and depth 3, the book's example) but only
    $\text{width} (2 + (\text{depth} - 1)\,\text{width})$ edges.

    With ``average=True`` every later node is $\sigma(\text{mean of the previous layer})$
    (op ``"sigmoid_mean"``): the same graph, but wide layers do not saturate the sigmoid (a sum
    of 100 values near 1/2 would, and make every derivative exactly 0 in float64).
    """
    for name, v in (("width", width), ("depth", depth)):
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise ValueError(f"`{name}` must be an int >= 1, got {v!r}.")
    g = GraphBuilder()
    w = g.input("w")
    prev = [g.node(f"h1_{u}", "sigmoid_sum", w) for u in range(width)]
    for k in range(2, depth + 1):
        op = "sigmoid_mean" if average else "sigmoid_sum"
        prev = [g.node(f"h{k}_{u}", op, *prev) for u in range(width)]
    g.node("o", "add", *prev)
    return g.build()
