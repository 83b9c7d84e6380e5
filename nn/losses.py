"""Loss functions: each returns one `Value`, the mean over the items it is given.

Each gives the same number as the PyTorch loss with `reduction="mean"` (`hinge` has no PyTorch
twin: it is the mean of `relu(1 - target * score)`), with the same gradient, at the edges too:
a saturated probability, a huge or infinite logit, a nan. An item may be a `Value` or a plain
number; pass one item, or a list of them.

No loss looks at the numbers in a `Value` to decide what to record: clamps and shifts live
inside primitives of the op table (`softplus`, `bce`, `cross_entropy`), and the only data
checks are comparisons of Values (which a recording can see), so one recorded loss is right
for any numbers.

>>> from autograd import Value
>>> round(mse([Value(1.0), Value(3.0)], [0.0, 1.0]).data, 6)
2.5
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral, Real
from typing import Any

from autograd import Value, sum_
from autograd.engine import apply, as_value
from autograd.ops import BCE, BCE_WITH_LOGITS, CROSS_ENTROPY


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
    return as_value(x)


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
    probability of exactly 0 or 1 gives a finite loss. The gradient is PyTorch's too,
    `(p - t) / max(p * (1 - p), 1e-12)`: at a saturated probability it still points back
    inside, even for a soft target. Probabilities and targets must lie in [0, 1].
    """
    probs, targets = _pairs(prob, target, "bce")
    for t in targets:
        if not 0 <= t <= 1:  # false for nan too
            raise ValueError(f"bce: targets must lie in [0, 1], got {_number(t)!r}")
    return _mean([apply(BCE, p, t) for p, t in zip(probs, targets, strict=True)])


def bce_with_logits(logit: Any, target: Any) -> Value:
    """Binary cross-entropy on logits (torch `BCEWithLogitsLoss`), stable for any logit.

    One `bce_with_logits` node per item: `(1 - t) * x + softplus(-x)`, PyTorch's form
    (`softplus` never overflows, so the loss is exact for a huge logit), with the gradient
    `sigmoid(x) - t` computed as such (exact for a very negative logit too). An infinite logit
    gives what PyTorch gives (nan where the form meets 0 * inf).
    """
    logits, targets = _pairs(logit, target, "bce_with_logits")
    return _mean([apply(BCE_WITH_LOGITS, x, t) for x, t in zip(logits, targets, strict=True)])


def hinge(score: Any, target: Any) -> Value:
    """The SVM hinge loss of micrograd's demo: `mean(relu(1 - target * score))`, target +-1."""
    scores, targets = _pairs(score, target, "hinge")
    for t in targets:
        # one comparison pair for either sign, so a target that is data to a tape (a Value, a
        # traced int) takes the same branch for every valid sample
        if not 1 <= t * t <= 1:
            raise ValueError(f"hinge: targets must be -1 or +1, got {_number(t)!r}")
    return _mean([(1 - t * _value(s)).relu() for s, t in zip(scores, targets, strict=True)])


def _number(x: Any) -> float:
    """The number in a target, for an error message only."""
    return x.data if isinstance(x, Value) else float(x)


def cross_entropy(logits: Sequence[Any], target: Any) -> Value:
    """Softmax cross-entropy (torch `CrossEntropyLoss`): `logsumexp(logits) - logits[target]`.

    `logits` is one sample (a list of Values or numbers, one per class) with `target` a class
    index, or a batch (a list of such lists) with `target` a list of indices. Each sample is
    one node of the op table's `cross_entropy`, which shifts by the largest logit: exact for
    huge logits (`[1e16, 1e16]` gives log 2). A -inf logit is a masked class (a target there
    gives inf); a +inf or nan logit makes the sample's loss and gradient nan, as in PyTorch.

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
    logits = _as_list(row)
    if not logits:
        raise ValueError("cross_entropy: each sample's logits must be a non-empty list")
    if isinstance(target, bool) or not isinstance(target, Integral):
        raise TypeError(f"cross_entropy: a target is a class index (int), got {target!r}")
    for x in logits:
        if not isinstance(x, (Value, Real)):
            kind = type(x).__name__
            raise TypeError(f"cross_entropy: logits must be Values or numbers, got {kind}")
    # the logits in order and the target class as the op's argument (the op checks it is one
    # of the classes: a tape then reads it as data, whatever class each sample has)
    return apply(CROSS_ENTROPY, *logits, target)
