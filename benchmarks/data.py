"""The benchmark's data and initial weights, made with `random` alone so every engine (and every
worker process) gets exactly the same numbers without scikit-learn."""

from __future__ import annotations

import math
import random


def moons(samples: int = 100, noise: float = 0.1, seed: int = 1337) -> tuple[list, list]:
    """Two interleaving half circles (as scikit-learn's make_moons), labels -1 and +1."""
    rng = random.Random(seed)
    X, y = [], []
    for i in range(samples):
        upper = i < samples // 2
        t = math.pi * rng.random()
        if upper:
            px, py = math.cos(t), math.sin(t)
        else:
            px, py = 1.0 - math.cos(t), 0.5 - math.sin(t)
        X.append([px + rng.gauss(0.0, noise), py + rng.gauss(0.0, noise)])
        y.append(1 if upper else -1)
    return X, y


def classification(samples: int = 800, features: int = 10, seed: int = 0) -> tuple[list, list]:
    """Gaussian features, labels 0/1 from a random hyperplane with some label noise."""
    rng = random.Random(seed)
    w = [rng.gauss(0.0, 1.0) for _ in range(features)]
    X, y = [], []
    for _ in range(samples):
        x = [rng.gauss(0.0, 1.0) for _ in range(features)]
        score = sum(a * b for a, b in zip(w, x)) + rng.gauss(0.0, 0.5)
        X.append(x)
        y.append(1.0 if score > 0 else 0.0)
    return X, y


def mlp_weights(nin: int, nouts: list[int], seed: int, scale: str = "micrograd") -> list:
    """Per layer, per neuron: (weights, bias). "micrograd": w ~ U(-1, 1), b = 0;
    "torch": w, b ~ U(-k, k) with k = 1/sqrt(nin), as torch.nn.Linear starts."""
    rng = random.Random(seed)
    sizes = [nin, *nouts]
    layers = []
    for i in range(len(nouts)):
        k = 1.0 if scale == "micrograd" else 1.0 / math.sqrt(sizes[i])
        layer = []
        for _ in range(sizes[i + 1]):
            w = [rng.uniform(-k, k) for _ in range(sizes[i])]
            b = 0.0 if scale == "micrograd" else rng.uniform(-k, k)
            layer.append((w, b))
        layers.append(layer)
    return layers


def digits_like(samples: int, seed: int = 0) -> tuple[list, list]:
    """Images shaped as scikit-learn's 8x8 digits (64 pixels in [0, 1], steps of 1/16) with
    class labels 0-9, drawn at random: the step's cost depends on the shapes, not the picture."""
    rng = random.Random(seed)
    X = [[rng.randint(0, 16) / 16.0 for _ in range(64)] for _ in range(samples)]
    y = [rng.randrange(10) for _ in range(samples)]
    return X, y
