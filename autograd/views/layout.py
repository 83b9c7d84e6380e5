"""Which arrows a picture draws, and from where: a plan that keeps Graphviz's work near linear.

Graphviz lays out a long arrow as a chain of hidden points, one per rank it crosses, and its
positioning grows faster than linearly in their number: a value reused all along a long chain
(`y = y * x` a hundred times, 200 values) made a picture that had not finished after 17 minutes.
So an arrow that would cross more than `MAX_SPAN` levels of the graph starts instead
from a small dashed reference to its value (the value's name, drawn beside the op that uses it),
and an op that uses one value more than `MAX_PARALLEL` times gets one arrow for them all,
labelled with their count and the sum of their local derivatives. The hidden points then number
at most a few per arrow, the arrows at most `ARROWS_PER_VALUE` per value (more is refused, like a
graph over `max_nodes`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..engine import Value, is_constant, topological_order

ARROWS_PER_VALUE = 4
MAX_SPAN = 3  # levels an arrow may cross before it starts from a reference instead
MAX_PARALLEL = 3  # arrows from one value into one op before they are merged into one


class Arrow:
    """Arrows from one value into one op: operand positions `indices` of the op's node; drawn
    from a reference to the value when `reference`, merged into one arrow when many."""

    __slots__ = ("indices", "parent", "reference")

    def __init__(self, parent: Value, indices: list[int], reference: bool) -> None:
        self.parent, self.indices, self.reference = parent, indices, reference

    @property
    def merged(self) -> bool:
        return len(self.indices) > MAX_PARALLEL

    @property
    def count(self) -> int:
        """How many arrows the picture draws for it."""
        return 1 if self.merged else len(self.indices)


def plan_arrows(root: Value) -> dict[Value, list[Arrow]]:
    """For every op node under `root`, its arrows (see the module docstring).

    Levels: a leaf sits one level before its first use, a result one level after its latest
    operand. An arrow that crosses more than `MAX_SPAN` levels starts from a reference. Graphviz
    places every node at most as far as those levels would, so the hidden points of all arrows
    together stay under a few per arrow, whatever the graph.
    """
    forward = list(reversed(topological_order(root)))  # every node after its operands
    return plan_over(forward, lambda node: node.parents)


def plan_over(forward: Sequence[Any], operands: Callable[[Any], Sequence[Any]]) -> dict[Any, list]:
    """`plan_arrows` for any graph: `forward` lists its nodes, each after its operands, and
    `operands(node)` gives a node's operands in order (the same one may come more than once).
    A summarised picture plans its neurons' and layers' arrows with it."""
    level: dict[Any, int] = {}
    for node in forward:
        ops = operands(node)
        level[node] = 1 + max(level[p] for p in ops) if ops else 0
    first_use: dict[Any, int] = {}
    for node in forward:
        for p in operands(node):
            if not operands(p) and level[node] - 1 < first_use.get(p, level[node]):
                first_use[p] = level[node] - 1
    level.update(first_use)
    plan: dict[Any, list[Arrow]] = {}
    for node in forward:
        ops = operands(node)
        if not ops:
            continue
        groups: dict[Any, list[int]] = {}
        for i, p in enumerate(ops):
            groups.setdefault(p, []).append(i)
        plan[node] = [Arrow(p, idx, level[node] - level[p] > MAX_SPAN) for p, idx in groups.items()]
    return plan


def check_arrows(plan: Mapping[Value, list[Arrow]], values: int, max_nodes: int, what: str) -> None:
    """A ValueError when the picture would have more than `ARROWS_PER_VALUE * max_nodes` arrows
    (a graph whose ops each use hundreds of distinct values)."""
    arrows = sum(a.count for arrows in plan.values() for a in arrows)
    limit = ARROWS_PER_VALUE * max_nodes
    if arrows > limit:
        raise ValueError(
            f"{what}: the picture would have {arrows:,} arrows between {values:,} values, over "
            f"{ARROWS_PER_VALUE} x max_nodes={limit:,}; show a smaller part (call it on an "
            f"intermediate node), or pass max_nodes={-(-arrows // ARROWS_PER_VALUE)}"
        )




# --- networks: which values form a neuron, which neurons a layer ----------------------------

ACTIVATIONS = frozenset({"relu", "tanh", "sigmoid", "softplus", "gelu", "silu", "elu",
                         "leaky_relu", "identity"})  # compared in lower case: micrograd's "ReLU"
SUMS = frozenset({"+", "sum"})


class NeuronGroup:
    """One neuron's values in the graph: `members` (its op results, in the order the forward
    pass made them; the last is its `output`), the `params` it reads, the `inputs` it reads
    (values made outside it that are not parameters), its `key` (the module path in the
    parameters' names, e.g. "layers.0.neurons.1"; None when unnamed) and its `label`."""

    __slots__ = ("activation", "closed", "inputs", "key", "label", "layer", "members", "params")

    def __init__(self, key: str | None) -> None:
        self.key = key
        self.members: list[Value] = []
        self.params: list[Value] = []
        self.inputs: list[Value] = []
        self.closed = False  # an activation ends a neuron
        self.activation = "linear"
        self.label = ""
        self.layer: LayerGroup | None = None

    @property
    def output(self) -> Value:
        return self.members[-1]


class LayerGroup:
    """Neurons reading the same inputs (and, when named, under the same module): `neurons`,
    `key` (e.g. "layers.0"; None when unnamed), `label`."""

    __slots__ = ("key", "label", "neurons")

    def __init__(self, key: str | None) -> None:
        self.key = key
        self.neurons: list[NeuronGroup] = []
        self.label = ""

    @property
    def members(self) -> list[Value]:
        return [m for n in self.neurons for m in n.members]

    @property
    def params(self) -> list[Value]:
        return list(dict.fromkeys(p for n in self.neurons for p in n.params))


class Network:
    """The neurons and layers found in a graph (`find_network`).

    `neuron_of` maps each member value to its neuron; `param_names` maps every parameter to the
    name it was known by ("" when it was recognised by its place in a `dot`)."""

    def __init__(self, neurons: list[NeuronGroup], layers: list[LayerGroup],
                 param_names: Mapping[Value, str]) -> None:
        self.neurons, self.layers, self.param_names = neurons, layers, dict(param_names)
        self.neuron_of = {m: n for n in neurons for m in n.members}


def owner_path(name: str) -> str | None:
    """The module a parameter's dotted name belongs to: "layers.0.neurons.1.w.0" ->
    "layers.0.neurons.1", "w.0" -> "" (the model itself); None for a name with no path ("b",
    "p1", "w1": a name a user chose, which says nothing about structure).

    >>> owner_path("layers.0.neurons.1.w.0"), owner_path("layers.2.neurons.0.b"), owner_path("b")
    ('layers.0.neurons.1', 'layers.2.neurons.0', None)
    """
    parts = name.split(".")
    if len(parts) < 2 or not all(parts):
        return None
    if parts[-1].isdigit():
        parts = parts[:-1]
    return ".".join(parts[:-1])


def parent_path(path: str | None) -> str | None:
    """The module holding module `path`: "layers.0.neurons.1" -> "layers.0"; None at the top."""
    if not path:
        return None
    parts = path.split(".")
    if parts[-1].isdigit():
        parts = parts[:-1]
    return ".".join(parts[:-1])


def find_network(root: Value, params: Mapping[Value, str], least: int = 2) -> Network | None:
    """The neurons of the network under `root`, grouped into layers; None when there are fewer
    than `least` neurons (the graph is not a network, or not one worth grouping).

    The parameters are the ones `params` names (`draw_dot(params=...)`, names from
    `named_parameters()`) and the leaves labelled with a dotted path ("layers.0.neurons.1.w.0",
    as `nn` labels its parameters); with neither, the leaves in the first half of a `dot` (its
    weights, `dot(w, x)`) and a leaf added to a `dot` (its bias). A neuron is then:

    - an op that reads parameters of one neuron and some other value (its inputs): `dot(w, x)`
      or micrograd's `w * x`; it starts a neuron, or joins the one of an operand that feeds only
      it (`dot(w, x) + b`);
    - a `+` of two parts of neurons each feeding only it and sharing no parameter (micrograd's
      running sum `b + w0*x0 + w1*x1 ...`), which joins them into one;
    - an activation (relu, tanh, ...) of a neuron's result that feeds only it, which ends it.

    So a weighted sum, its bias and its activation are one neuron whichever way they were
    written, and the same neuron applied to several samples is several neurons (one a sample),
    while what comes after the network (a loss) belongs to no neuron. Neurons reading the same
    inputs (under the same module, when named) form a layer.
    """
    forward = list(reversed(topological_order(root)))  # every node after its operands
    users: dict[Value, int] = {}
    for node in forward:
        for p in set(node.parents):
            users[p] = users.get(p, 0) + 1
    names = {p: name for p, name in params.items() if not p.parents}
    for node in forward:
        label = node.label if isinstance(node.label, str) else ""
        if (not node.parents and node not in names and not is_constant(node)
                and owner_path(label) is not None):
            names[node] = label
    if not names:
        names = _dot_weights(forward, users)
    key = {p: owner_path(name) for p, name in names.items()}

    neuron: dict[Value, NeuronGroup] = {}

    def open_part(o: Value) -> NeuronGroup | None:
        n = neuron.get(o)
        return n if n is not None and not n.closed and users.get(o) == 1 else None

    def merge(parts: list[NeuronGroup], node: Value, k: str | None) -> NeuronGroup:
        first = parts[0]
        for other in parts[1:]:
            first.members.extend(other.members)
            first.params.extend(other.params)
            for m in other.members:
                neuron[m] = first
        first.members.sort(key=order.__getitem__)
        if first.key is None:
            first.key = k
        first.members.append(node)
        neuron[node] = first
        return first

    order = {node: i for i, node in enumerate(forward)}
    for node in forward:
        if not node.parents:
            continue
        operands = list(dict.fromkeys(node.parents))
        reads = [p for p in operands if p in names]
        keys = {key[p] for p in reads} - {None}
        if len(keys) > 1:
            continue
        k = next(iter(keys), None)
        parts = list(dict.fromkeys(n for o in operands if (n := open_part(o))))
        if not _compatible(parts, k, reads):
            parts = []
        if reads:
            if parts:
                n = merge(parts, node, k)
            elif any(o not in names and not is_constant(o) for o in operands):
                n = NeuronGroup(k)
                n.members.append(node)
                neuron[node] = n
            else:
                continue
            n.params.extend(p for p in reads if p not in n.params)
        elif (node.op in SUMS and len(operands) == 2 and len(parts) == 2
              and all(open_part(o) for o in operands)):
            merge(parts, node, k)
        elif (len(operands) == 1 and parts and isinstance(node.op, str)
              and node.op.lower() in ACTIVATIONS):
            n = merge(parts, node, k)
            n.closed = True
            n.activation = node.op
    found = list(dict.fromkeys(neuron.values()))
    found.sort(key=lambda n: order[n.output])
    if len(found) < least:
        return None
    for n in found:
        inside = set(n.members)
        n.inputs = list(dict.fromkeys(
            p for m in n.members for p in m.parents
            if p not in inside and p not in names and not is_constant(p)))
    layers = _layers(found)
    return Network(found, layers, {p: names[p] for p in names})


def _compatible(parts: list[NeuronGroup], k: str | None, reads: list[Value]) -> bool:
    """Parts may join into one neuron when their names agree and they share no parameter (two
    samples through one neuron share all of theirs: they stay two neurons)."""
    keys = {p.key for p in parts} | ({k} if k is not None else set())
    if len(keys - {None}) > 1:
        return False
    seen: set[Value] = set(reads)
    for part in parts:
        if seen & set(part.params):
            return False
        seen.update(part.params)
    return True


def _dot_weights(forward: list[Value], users: Mapping[Value, int]) -> dict[Value, str]:
    """Parameters by their place, for a graph with no names: each `dot(w, x)`'s leaves in `w`,
    and a leaf added to a `dot` that feeds only that sum (a bias)."""
    found: dict[Value, str] = {}
    for node in forward:
        if node.op == "dot" and len(node.parents) % 2 == 0:
            half = node.parents[: len(node.parents) // 2]
            found.update((w, "") for w in half if not w.parents and not is_constant(w))
    for node in forward:
        if node.op in SUMS and any(p.op == "dot" and users.get(p) == 1 for p in node.parents):
            found.update((b, "") for b in node.parents
                         if not b.parents and not is_constant(b) and b not in found)
    return found


def _layers(neurons: list[NeuronGroup]) -> list[LayerGroup]:
    """Neurons with the same inputs and module form a layer; labels from the names, else by
    depth ("layer 1" reads no other layer's output), "#2", "#3" for the same layer again (one
    per sample of a batch)."""
    by: dict[tuple, LayerGroup] = {}
    for n in neurons:
        k = parent_path(n.key) if n.key is not None else None
        ident = (k, frozenset(n.inputs))
        layer = by.get(ident)
        if layer is None:
            layer = by[ident] = LayerGroup(k)
        layer.neurons.append(n)
        n.layer = layer
    layers = list(by.values())
    depth: dict[LayerGroup, int] = {}
    made_by = {n.output: layer for layer in layers for n in layer.neurons}
    for layer in layers:  # in the order their first neuron was made: inputs' layers come first
        depth[layer] = 1 + max((depth.get(made_by[i], 0) for n in layer.neurons
                                for i in n.inputs if i in made_by), default=0)
    seen: dict[str, int] = {}
    for layer in layers:
        base = layer.key if layer.key else f"layer {depth[layer]}"
        seen[base] = seen.get(base, 0) + 1
        layer.label = base if seen[base] == 1 else f"{base} #{seen[base]}"
        for j, n in enumerate(layer.neurons, 1):
            if n.key and layer.key and n.key.startswith(layer.key + "."):
                n.label = n.key[len(layer.key) + 1:]
            else:
                n.label = n.key or f"neuron {j}"
    return layers
