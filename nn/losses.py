"""Loss functions: each returns one `Value`, the mean over the items it is given.

Each gives the same number as the PyTorch loss with `reduction="mean"` (`hinge` has no PyTorch
twin: it is the mean of `relu(1 - target * score)`). An item may be a `Value` or a plain
number; pass one item, or a list of them.

>>> from autograd import Value
>>> round(mse([Value(1.0), Value(3.0)], [0.0, 1.0]).data, 6)
2.5
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Integral, Real
from typing import Any

from autograd import Value, sum_

_LOG_FLOOR = -100.0  # PyTorch's BCELoss clamps each log here, so a saturated sigmoid is finite


def _as_list(x: Any) -> list[Any] | None:
    """`x` as a list if it is a sequence of items (a list, tuple, NumPy array), else None."""
    if isinstance(x, (Value, Real, str, bytes)):
        return None
    try:
        return list(x)
    except TypeError:
        return None


def _pairs(pred: Any, target: Any, fn: str) -> tuple[list[Any], list[Any]]:
    """Both sides as equally long lists (a lone item becomes a list of one)."""
    preds = _as_list(pred)
    preds = [pred] if preds is None else preds
    targets = _as_list(target)
    targets = [target] if targets is None else targets
    if len(preds) != len(targets):
        raise ValueError(f"{fn}: {len(preds)} predictions but {len(targets)} targets")
    if not preds:
        raise ValueError(f"{fn}: no items (the mean of nothing is undefined)")
    for p in preds:
        if not isinstance(p, (Value, Real)):
            raise TypeError(f"{fn}: predictions must be Values or numbers, got {type(p).__name__}")
    for t in targets:
        if not isinstance(t, (Value, Real)):
            raise TypeError(f"{fn}: targets must be Values or numbers, got {type(t).__name__}")
    return preds, targets


def _value(x: Any) -> Value:
    return x if isinstance(x, Value) else Value(x)


def _mean(terms: list[Value]) -> Value:
    return sum_(terms) / len(terms)


def mse(pred: Any, target: Any) -> Value:
    """Mean squared error, `mean((pred - target) ** 2)` (torch `MSELoss`)."""
    preds, targets = _pairs(pred, target, "mse")
    terms = []
    for p, t in zip(preds, targets, strict=True):
        d = _value(p) - t
        terms.append(d * d)
    return _mean(terms)


def bce(prob: Any, target: Any) -> Value:
    """Binary cross-entropy on probabilities (torch `BCELoss`).

    `-(t * log(p) + (1 - t) * log(1 - p))`, each log clamped at -100 as PyTorch does, so a
    probability of exactly 0 or 1 gives a finite loss (a clamped log passes no gradient).
    """
    probs, targets = _pairs(prob, target, "bce")
    terms = []
    for p, t in zip(probs, targets, strict=True):
        p = _value(p)
        if not 0.0 <= p.data <= 1.0:
            raise ValueError(f"bce: probabilities must lie in [0, 1], got {p.data!r}")
        if t == 1:  # a hard label needs one log, not two (the other term is exactly 0)
            terms.append(-_clamped_log(p))
        elif t == 0:
            terms.append(-_clamped_log(1 - p))
        else:
            terms.append(-(t * _clamped_log(p) + (1 - t) * _clamped_log(1 - p)))
    return _mean(terms)


def _clamped_log(p: Value) -> Value | float:
    if p.data <= 0.0 or math.log(p.data) < _LOG_FLOOR:
        return _LOG_FLOOR
    return p.log()


def bce_with_logits(logit: Any, target: Any) -> Value:
    """Binary cross-entropy on logits (torch `BCEWithLogitsLoss`), stable for any logit.

    `(1 - t) * x + log(1 + exp(-x))`, written for x < 0 as `-t * x + log(1 + exp(x))`: the
    same function, but `exp` never sees a positive argument, so it cannot overflow. Its
    gradient is `sigmoid(x) - t` on both sides.
    """
    logits, targets = _pairs(logit, target, "bce_with_logits")
    terms = []
    for x, t in zip(logits, targets, strict=True):
        x = _value(x)
        if x.data >= 0:
            terms.append((1 - t) * x + (1 + (-x).exp()).log())
        else:
            terms.append(-t * x + (1 + x.exp()).log())
    return _mean(terms)


def hinge(score: Any, target: Any) -> Value:
    """The SVM hinge loss of micrograd's demo: `mean(relu(1 - target * score))`, target +-1."""
    scores, targets = _pairs(score, target, "hinge")
    for t in targets:
        if float(t) not in (-1.0, 1.0):
            raise ValueError(f"hinge: targets must be -1 or +1, got {float(t)!r}")
    return _mean([(1 - t * _value(s)).relu() for s, t in zip(scores, targets, strict=True)])


def cross_entropy(logits: Sequence[Any], target: Any) -> Value:
    """Softmax cross-entropy (torch `CrossEntropyLoss`): `logsumexp(logits) - logits[target]`.

    `logits` is one sample (a list of Values or numbers, one per class) with `target` a class
    index, or a batch (a list of such lists) with `target` a list of indices. The largest logit
    is subtracted before `exp` (log-sum-exp), so huge logits are no overflow; the sum is one
    fused node.

    >>> round(cross_entropy([0.0, 0.0], 1).data, 6)
    0.693147
    """
    rows = _as_list(logits)
    if not rows:
        raise ValueError("cross_entropy: logits must be a non-empty list (or a list of lists)")
    if _as_list(rows[0]) is not None:
        targets = _as_list(target)
        if targets is None:
            raise ValueError("cross_entropy: a batch of logits needs a list of target indices")
        if len(targets) != len(rows):
            raise ValueError(f"cross_entropy: {len(rows)} samples but {len(targets)} targets")
    else:
        rows, targets = [rows], [target]
    return _mean([_one_cross_entropy(row, t) for row, t in zip(rows, targets, strict=True)])


def _one_cross_entropy(row: Sequence[Any], target: Any) -> Value:
    row = _as_list(row)
    if not row:
        raise ValueError("cross_entropy: each sample's logits must be a non-empty list")
    if isinstance(target, bool) or not isinstance(target, Integral):
        raise TypeError(f"cross_entropy: a target is a class index (int), got {target!r}")
    if not 0 <= target < len(row):
        raise ValueError(f"cross_entropy: target {target} is outside the {len(row)} classes")
    target = int(target)
    row = [_value(x) for x in row]
    # The shift is a plain number: log-sum-exp's value and gradient do not depend on it.
    shift = max(x.data for x in row)
    lse = sum_([(x - shift).exp() for x in row]).log() + shift
    return lse - row[target]
