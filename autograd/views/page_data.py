"""What the graph page (`draw_html`) carries: the graph as columns of plain numbers and strings.

Every number in it comes from the engine: each value's data and `.grad`, each arrow's local
derivative (`local_derivatives`), and the backward pass as `explain` tells it
(`backward_steps`: which node sends gradient at each step, what it adds into each operand, the
sum so far). The page replays that story; it computes no derivative of its own.

Groups are what the page can collapse into one box:

- the parameters an `nn` module names ("layers.0.neurons.1.w.0") put the values computed from
  them into nested groups, one per numbered part of the name ("layers.0", then
  "layers.0.neurons.1"). A result belongs to the group its parameter operands share, or,
  having none, to the one group all its operands are in; a constant, to the group of the values
  that read it.
- a long chain of one op, each link read only by the next (Python's `sum` over a list makes
  hundreds of `+`), is a group of its own: "sum of 100 terms".
"""

from __future__ import annotations

import math
import re
from typing import Any

from ..custom import vjp_outputs
from ..engine import Value, is_constant, local_derivatives, rule, topological_order
from .explanation import backward_steps, local_formula
from .names import constant, exponent, formula, graph_nodes, label_of, node_names, parameter_names
from .picture import role

PAGE_MAX_NODES = 20_000  # a page of 5,000 values opens in about a second
ROLES = {"output": "o", "parameter": "p", "input": "i", "constant": "c", "intermediate": "v"}
CHAIN_LINKS = 8  # a chain of one op with at least this many links is folded into one box
CHAIN_WORDS = {"+": ("sum", "terms"), "*": ("product", "factors")}
_NUMBERED = re.compile(r"\d+")


def graph_data(root: Value, *, params: Any = None, max_nodes: int = PAGE_MAX_NODES) -> dict:
    """The graph as the page reads it: columns of plain numbers and strings, JSON-ready.

    Nodes are numbered in a forward order (every node after its operands); the edges run from
    operand to result, one per operand, grouped by result in that order (a node's `arity` says
    how many are its); an edge's `rule` is the local derivative's formula, or the number of the
    node whose name it is; `steps` is the backward pass in backward's order, each step
    `[node, upstream, [[edge, added, total], ...]]` (and a 1 after them for a vector-Jacobian
    product, whose arrows carry no local derivative); `questions` is the order the practice
    mode asks for the gradients in (each after all its uses); `groups` are `[name, parent index
    or -1, kind]`, each after its parent, and `about` says for each what its collapsed box
    shows (`group_about`); a node's `details` are the numbers a vector-Jacobian-product node
    shows in place of its data (`fixed_point`: iterations and residual).
    """
    graph_nodes(root, max_nodes, "draw_html")
    given = parameter_names(params, "draw_html: params")
    names = node_names(root, given)
    backward = topological_order(root)
    forward = backward[::-1]
    ids = {node: i for i, node in enumerate(forward)}
    steps, final = backward_steps(root)
    groups, group_of = _groups(forward, names)
    uses: dict[Value, int] = {}
    for node in forward:
        for p in node.parents:
            uses[p] = uses.get(p, 0) + 1
    chains = _chains(forward, root, uses)
    links: dict[int, list[Value]] = {}  # a chain's group -> its links
    for chain in chains:
        inner = {group_of.get(link, -1) for link in chain}
        parent = inner.pop() if len(inner) == 1 else -1
        word = CHAIN_WORDS.get(chain[-1].op, (f"{chain[-1].op} chain", "links"))[0]
        groups.append([f"{word} {names[chain[-1]]}", parent, word])
        links[len(groups) - 1] = chain
        for node in chain + _tails(chain, backward, group_of, parent, uses):
            group_of[node] = len(groups) - 1

    columns: dict[str, list] = {k: [] for k in
                                ("name", "label", "op", "data", "grad", "pass", "role",
                                 "formula", "group", "arity", "details")}
    edges: dict[str, list] = {"src": [], "local": [], "rule": []}
    first_edge: dict[Value, int] = {}
    for node in forward:
        columns["name"].append(names[node])
        label = label_of(node)
        columns["label"].append(label if label != names[node] else "")
        columns["op"].append(_op_text(node))
        columns["data"].append(_number(node.data))
        columns["grad"].append(_number(node.grad))
        columns["pass"].append(_number(final[node]) if node in final else None)
        columns["role"].append(ROLES[role(node, root, given)])
        columns["formula"].append(formula(node, names) if node.parents else "")
        columns["group"].append(group_of.get(node, -1))
        columns["arity"].append(len(node.parents))
        columns["details"].append(node_details(node))
        if node.parents:
            first_edge[node] = len(edges["src"])
            args = [names[p] for p in node.parents]
            by_name = {names[p]: ids[p] for p in node.parents}
            for i, (parent, local) in enumerate(zip(node.parents, local_derivatives(node))):
                edges["src"].append(ids[parent])
                edges["local"].append(_number(local))
                rule_text = local_formula(node, i, names, args) or ""
                # a rule that is an operand's name (the w in d(x*w)/dx) travels as its number
                edges["rule"].append(by_name.get(rule_text, rule_text))
    return {
        "version": 2,
        "root": ids[root],
        "seed": 1.0,
        "nodes": columns,
        "edges": edges,
        "steps": [[ids[s.node], _number(s.upstream),
                   [[first_edge[s.node] + a.index, _number(a.added), _number(a.total)]
                    for a in s.additions], *([1] if s.vjp else [])] for s in steps],
        "questions": [ids[n] for n in backward if n is not root and not is_constant(n)],
        "groups": groups,
        "about": group_about(forward, ids, groups, group_of, names, root, links),
    }


def node_details(node: Value) -> list[list] | None:
    """What a vector-Jacobian-product node (`fixed_point`, `custom_vjp`) shows in place of its
    data, which is no number of its own: `[name, number]` pairs, its outputs first."""
    if not node.parents or not rule(node).vjp:
        return None
    outputs, details = vjp_outputs(node)
    return [["outputs", len(outputs)], *([k, _number(float(v))] for k, v in details.items())]


def _number(x: float) -> float | str:
    """A float for JSON: the number itself, or its name when JSON has none (JS reads both)."""
    if math.isfinite(x):
        return x
    return "NaN" if math.isnan(x) else ("Infinity" if x > 0 else "-Infinity")


def _op_text(node: Value) -> str:
    if node.op == "**":
        k = exponent(node)
        return f"**{constant(k) if k is not None else 'k'}"
    return node.op


# --- groups ----------------------------------------------------------------------------------


def name_groups(name: str) -> list[str]:
    """The groups a parameter's name puts it in, outermost first: each prefix that ends in a
    numbered part, the name itself left out.

    >>> name_groups("layers.0.neurons.1.w.0")
    ['layers.0', 'layers.0.neurons.1']
    >>> name_groups("w.0"), name_groups("b"), name_groups("0.w.1")
    ([], [], ['0'])
    """
    parts = name.split(".")
    return [".".join(parts[: k + 1]) for k in range(len(parts) - 1)
            if _NUMBERED.fullmatch(parts[k])]


def _groups(forward: list[Value], names: dict[Value, str]) -> tuple[list[list], dict[Value, int]]:
    """The groups (`[name, parent index or -1, kind]`, each after its parent) and each grouped
    node's innermost group (see the module docstring)."""
    index: dict[str, int] = {}
    table: list[list] = []

    def group(path: list[str]) -> int:
        parent = -1
        for name in path:
            if name not in index:
                index[name] = len(table)
                parts = name.split(".")
                word = parts[-2] if len(parts) > 1 else "group"  # "layers.0": a layer
                table.append([name, parent, word[:-1] if word.endswith("s") else word])
            parent = index[name]
        return parent

    chains: dict[Value, list[str]] = {}  # node -> its group path, outermost first
    from_params: set[Value] = set()
    readers: dict[Value, list[list[str] | None]] = {}  # a leaf -> its readers' paths
    for node in forward:
        if not node.parents:
            if not is_constant(node):
                path: list[str] | None = name_groups(names[node])
                if path:
                    chains[node] = path
                    from_params.add(node)
            continue
        own = [chains[p] for p in node.parents if p in from_params]
        if own:
            path = _common(own)
        else:
            # no parameter of its own: it joins the one group all its operands are in (a
            # constant or an ungrouped operand, such as a target, keeps it out)
            operands = [chains.get(p) for p in node.parents]
            same = all(c is not None and c == operands[0] for c in operands)
            path = operands[0] if same else None
        if path:
            chains[node] = path
        for p in node.parents:
            if not p.parents and p not in from_params:
                readers.setdefault(p, []).append(path)
    for leaf, paths in readers.items():
        # a constant or an input read only inside one group is drawn in it (a sample's inputs
        # in the first layer): collapsing the group takes them along
        if all(paths):
            common = _common(paths)  # type: ignore[arg-type]
            if common:
                chains[leaf] = common
    return table, {node: group(path) for node, path in chains.items()}


def _common(paths: list[list[str]]) -> list[str]:
    first = paths[0]
    k = len(first)
    for path in paths[1:]:
        k = min(k, len(path))
        while k and path[k - 1] != first[k - 1]:
            k -= 1
    return first[:k]


def _chains(forward: list[Value], root: Value, uses: dict[Value, int]) -> list[list[Value]]:
    """The long chains of one op: runs of nodes, each an operand of the next one and read by
    nothing else (`sum(losses)` is `((l0 + l1) + l2) + ...`), with at least `CHAIN_LINKS`
    links, each in forward order."""
    previous: dict[Value, Value] = {}  # a link -> the link before it
    for node in forward:
        if not node.parents or rule(node).vjp or rule(node).output:
            continue
        for p in node.parents:
            if p.op == node.op and p.parents and uses[p] == 1 and p is not root \
                    and p not in previous.values():
                previous[node] = p
                break
    following = {p: n for n, p in previous.items()}
    out = []
    for node in forward:
        if node in previous or node not in following:
            continue  # not the first link of a chain
        chain = [node]
        while chain[-1] in following:
            chain.append(following[chain[-1]])
        if len(chain) >= CHAIN_LINKS:
            out.append(chain)
    return out


def _tails(chain: list[Value], backward: list[Value], group_of: dict[Value, int],
           parent: int, uses: dict[Value, int]) -> list[Value]:
    """The values a chain's terms are made of, that nothing else reads: each sample's part of
    a loss summed with Python's `sum` (`relu(1 - y * score)` but not the score, which a
    network's group holds). They fold into the chain's box with it."""
    inside = set(chain)
    users: dict[Value, list[Value]] = {}
    tails: list[Value] = []
    start = backward.index(chain[-1])
    for node in backward[start:]:  # each after all its users
        if node in inside:
            for p in node.parents:
                users.setdefault(p, []).append(node)
            continue
        if group_of.get(node, -1) != parent or node not in users or \
                (not node.parents and not is_constant(node)):  # inputs and parameters stay out
            continue
        if len(users[node]) == uses[node] and all(u in inside for u in users[node]):
            inside.add(node)
            tails.append(node)
            for p in node.parents:
                users.setdefault(p, []).append(node)
    return tails


def group_about(forward: list[Value], ids: dict[Value, int], groups: list[list],
                group_of: dict[Value, int], names: dict[Value, str], root: Value,
                links: dict[int, list[Value]]) -> list[dict]:
    """What each group's collapsed box shows, as `draw_dot(collapse=...)`'s records do: its
    outputs (the values it sends out, whose data and grad the box lists), its parameters by
    tensor ("w" -> the weights, "b" -> the bias) when they are its own, else their count, and
    for a chain how many terms it adds."""
    members: list[list[Value]] = [[] for _ in groups]
    users: dict[Value, list[Value]] = {}
    for node in forward:
        for p in node.parents:
            users.setdefault(p, []).append(node)
    for node in forward:
        g = group_of.get(node, -1)
        while g >= 0:
            members[g].append(node)
            g = groups[g][1]
    about = []
    for g, (name, _, _) in enumerate(groups):
        inside = set(members[g])
        outs = [n for n in members[g]
                if n is root or any(u not in inside for u in users.get(n, ()))]
        entry: dict[str, Any] = {"outs": [ids[n] for n in outs], "size": len(inside)}
        if g in links:
            chain = links[g]
            linked = set(chain)
            terms = [p for n in chain for p in n.parents if p not in linked]
            zero = [p for p in terms if is_constant(p) and p.data == 0]  # sum's start, 0
            word = CHAIN_WORDS.get(chain[-1].op, ("", "links"))[1]
            entry["chain"] = [chain[-1].op, len(terms) - len(zero), word]
        else:
            params = [n for n in members[g] if not n.parents and not is_constant(n)]
            tensors: dict[str, list[int]] = {}
            for p in params:
                rest = names[p][len(name) + 1:] if names[p].startswith(name + ".") else ""
                if not rest or name_groups(rest):  # a deeper group's parameter
                    tensors = {}
                    break
                tensors.setdefault(rest.split(".")[0], []).append(ids[p])
            for v in tensors.values():  # weights in input order: w.0, w.1, ...
                v.sort(key=lambda i: _index(names[forward[i]]))
            entry["tensors"] = [[t, v] for t, v in tensors.items()]
            entry["params"] = [ids[p] for p in params]
        about.append(entry)
    return about


def _index(name: str) -> int:
    last = name.rsplit(".", 1)[-1]
    return int(last) if last.isdigit() else -1


__all__ = ["CHAIN_LINKS", "PAGE_MAX_NODES", "graph_data", "group_about", "name_groups"]
