"""Copies and pickles of Values: a graph is written as a flat list, so any depth works.

A leaf is written on its own, so leaves pickled together (a model's parameters and an
optimizer's list of them) stay one object each. A recorded node is written with its whole
graph: its leaves, then one record per recorded node in creation order, each naming its
operands by position. A node made micrograd's way keeps its local derivatives, asked once of
its `_backward` closure; the closure itself is not copied (it belongs to the original nodes).

Loading a pickle runs whatever code the file names (this is pickle's nature, not this
module's): load only pickles you made or trust. To share a model, `nn.save` / `nn.load` write
and read JSON, data only.
"""

from __future__ import annotations

from typing import Any

from . import engine
from .backward import _float_partials, current, topological_order
from .clock import tick
from .ops import CONST, LEAF, OPS, Op, external

_new = object.__new__


def _rule_key(rule: Op) -> Any:
    if rule is LEAF:
        return ""
    if rule is CONST:
        return "const"
    if rule.external:
        return ("external", rule.name)
    if OPS.get(rule.name) is rule:
        return rule.name
    if rule.custom:  # by name and definition: see autograd.custom
        from .custom import fingerprint_of

        return ("custom", rule.name, fingerprint_of(rule))
    raise TypeError(
        f"a graph through {rule.name!r} cannot be copied or pickled: its backward is a function "
        "of the session (copy or pickle the parameters, or detach() the results)"
    )


def _rule_from(key: Any) -> Op:
    if key == "":
        return LEAF
    if key == "const":
        return CONST
    if isinstance(key, tuple) and key[0] == "custom":
        from .custom import defined_op

        return defined_op(key[1], key[2] if len(key) > 2 else None)
    if isinstance(key, tuple):
        return external(key[1])
    if isinstance(key, str):
        return OPS[key]
    return key


def _leaf_state(v: engine.Value) -> tuple:
    return (v._data, v.grad, v.label, _rule_key(v._rule))


def leaf_from(data: float, grad: float, label: str, key: Any) -> engine.Value:
    out = _new(engine.Value)
    out._data, out.grad, out.label = data, grad, label
    out._rule = _rule_from(key)
    out._a = None
    if engine._watching:  # a copy made while a tape records is made there, not read
        engine._note_made(out)
    return out


def _record(node: engine.Value, index: dict) -> tuple:
    rule = node._rule
    partials = tuple(_float_partials(node))
    arg = node._arg if rule.has_arg else None
    return (
        node._data, node.grad, node.label, _rule_key(rule),
        tuple(index[p] for p in node.parents), partials, arg,
    )


def node_from(rec: tuple, nodes: list) -> engine.Value:
    data, grad, label, key, operands, partials, arg = rec
    out = _new(engine.Value)
    out._data, out.grad, out.label = data, grad, label
    rule = out._rule = _rule_from(key)
    out._seq = tick()  # copies are younger than anything they could be combined with
    parents = tuple(nodes[i] for i in operands)
    if rule.arity == 0 or rule.external or len(parents) > 2:
        out._a, out._b, out._da, out._db = parents, None, partials, None
    elif len(parents) == 1:
        out._a, out._b, out._da = parents[0], None, partials[0]
    else:
        out._a, out._b = parents
        out._da, out._db = partials
    if rule.has_arg:
        out._arg = arg
    return out


def graph_from(leaves: tuple, records: tuple) -> engine.Value:
    nodes = list(leaves)
    for rec in records:
        nodes.append(node_from(rec, nodes))
    return nodes[-1]


def _split(root: engine.Value) -> tuple[list, list]:
    """The leaves under `root`, and its recorded nodes in creation order (operands first)."""
    order = topological_order(root)
    interior = [n for n in order if n._a is not None]
    current(interior)  # a copy of a stale graph would lose the mark that refuses it
    interior.reverse()
    leaves = [n for n in order if n._a is None]
    return leaves, interior


def reduce_value(v: engine.Value) -> tuple:
    if v._a is None:
        return leaf_from, _leaf_state(v)
    leaves, interior = _split(v)
    index = {n: i for i, n in enumerate(leaves)}
    records = []
    for n in interior:
        records.append(_record(n, index))
        index[n] = len(index)
    return graph_from, (tuple(leaves), tuple(records))


def deepcopy_value(v: engine.Value, memo: dict[int, Any]) -> engine.Value:
    done = memo.get(id(v))
    if done is not None:
        return done
    if v._a is None:
        out = memo[id(v)] = leaf_from(*_leaf_state(v))
        return out
    leaves, interior = _split(v)
    copies: dict[engine.Value, engine.Value] = {}
    for leaf in leaves:
        c = memo.get(id(leaf))
        if c is None:
            c = memo[id(leaf)] = leaf_from(*_leaf_state(leaf))
        copies[leaf] = c
    for n in interior:
        c = memo.get(id(n))
        if c is None:
            index = {p: p for p in n.parents}
            rec = _record(n, index)
            # in this process a copy keeps the very op (a custom op redefined since included)
            rec = (*rec[:3], n._rule if n._rule.custom else rec[3], *rec[4:])
            c = memo[id(n)] = node_from(rec[:4] + (tuple(range(len(n.parents))),) + rec[5:],
                                        [copies[p] for p in n.parents])
        copies[n] = c
    return copies[v]
