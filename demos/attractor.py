"""Pattern completion by a recurrent network that settles, trained by recurrent backpropagation.

Four letters on a 5x5 grid (pixels +1 on, -1 off) are stored in a recurrent network of 25
units, one per pixel (`nn.SettlingLayer(25, 25, inputs="one_to_one")`): unit i sees pixel i of
the input `p` alone, and the state `x <- tanh(W x + u * p + b)` is iterated from zero until it
stops changing. The settled state should be the whole letter when the input shows only half of
it (12 of the 25 pixels erased, set to 0: unknown); an erased pixel can only be filled in by
the other units, through the recurrent weights `W`.

Training uses recurrent backpropagation (Almeida and Pineda, 1987) through
`autograd.fixed_point`: once the state has settled, the error relaxes too, `u <- g + J^T u`,
and `u` sent through the map gives the weights' gradients. The same network is trained again,
from the same weights on the same data, by backpropagation through the iterations unrolled a
fixed number of steps: the gradients agree at convergence, while only the unrolled graph grows
with the iterations.

    python demos/attractor.py
    python demos/attractor.py --frames out/attractor/
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from autograd import no_grad, topological_order
from nn import SettlingLayer
from nn.losses import mse
from nn.optim import Adam

SIDE = 5
LETTERS = {
    "T": ["#####", "..#..", "..#..", "..#..", "..#.."],
    "L": ["#....", "#....", "#....", "#....", "#####"],  # close to O (9 pixels apart): harder
    "X": ["#...#", ".#.#.", "..#..", ".#.#.", "#...#"],
    "O": [".###.", "#...#", "#...#", "#...#", ".###."],
    "H": ["#...#", "#...#", "#####", "#...#", "#...#"],
}
PATTERNS = {k: [1.0 if c == "#" else -1.0 for row in rows for c in row]
            for k, rows in LETTERS.items()}
CONTRACTION_LIMIT = 0.99  # kept after every step, so the state always settles


def grid(pixels: Sequence[float]) -> list[str]:
    """Pixels as text rows: `#` on (> 0), `.` off (< 0), `?` unknown (0)."""
    marks = ["#" if v > 0 else "." if v < 0 else "?" for v in pixels]
    return ["".join(marks[r * SIDE : (r + 1) * SIDE]) for r in range(SIDE)]


def side_by_side(grids: Sequence[list[str]], titles: Sequence[str], gap: int = 4) -> str:
    width = max(SIDE, *(len(t) for t in titles))
    lines = [(" " * gap).join(t.ljust(width) for t in titles).rstrip()]
    for r in range(SIDE):
        lines.append((" " * gap).join(g[r].ljust(width) for g in grids).rstrip())
    return "\n".join(lines)


def corrupt(pattern: list[float], erase: int, rng: random.Random) -> tuple[list[float], list[int]]:
    """The pattern with `erase` pixels, chosen at random, set to 0 (unknown)."""
    hidden = rng.sample(range(len(pattern)), erase)
    shown = list(pattern)
    for i in hidden:
        shown[i] = 0.0
    return shown, hidden


def batch(letters: Sequence[str], erase: int, rng: random.Random) -> list[tuple[list, list]]:
    """One corrupted copy of each letter: (input, target)."""
    return [(corrupt(PATTERNS[k], erase, rng)[0], PATTERNS[k]) for k in letters]


def batch_loss(layer: SettlingLayer, data: list[tuple[list, list]], unroll: int | None = None):
    """The mean squared error of the settled states (or of the states after `unroll` steps)."""
    return sum(mse(layer(p, unroll=unroll), t) for p, t in data) / len(data)


def train(layer: SettlingLayer, letters: Sequence[str], steps: int, lr: float, erase: int,
          seed: int, unroll: int | None = None) -> dict:
    """Adam on fresh corruptions of every letter at each step; returns losses and time."""
    rng = random.Random(seed)
    opt = Adam(layer.parameters(), lr=lr)
    losses, iterations = [], 0
    started = time.process_time()
    for _ in range(steps):
        data = batch(letters, erase, rng)
        if unroll is None:
            states = [layer(p) for p, _ in data]
            iterations = max(iterations, *(x.forward.iterations for x in states))
            loss = sum(mse(x, t) for x, (_, t) in zip(states, data)) / len(data)
        else:
            loss = batch_loss(layer, data, unroll)
        opt.zero_grad()
        loss.backward()
        opt.step()
        layer.limit_contraction(CONTRACTION_LIMIT)
        losses.append(loss.data)
    return {"losses": losses, "seconds": time.process_time() - started,
            "most_iterations": iterations}


def completion(layer: SettlingLayer, letters: Sequence[str], trials: int, erase: int,
               seed: int, unroll: int | None = None) -> dict:
    """Settle on `trials` random corruptions of each letter (or run `unroll` steps): the share
    of erased pixels restored, and of letters restored whole."""
    rng = random.Random(seed)
    right = total = whole = 0
    examples = []
    with no_grad():
        for k in letters:
            for _ in range(trials):
                shown, hidden = corrupt(PATTERNS[k], erase, rng)
                out = [1.0 if v.data > 0 else -1.0 for v in layer(shown, unroll=unroll)]
                right += sum(out[i] == PATTERNS[k][i] for i in hidden)
                total += len(hidden)
                whole += out == PATTERNS[k]
                if len(examples) < len(letters) and not any(e[0] == k for e in examples):
                    examples.append((k, shown, out))
    return {"pixels": right / total, "whole": whole / (trials * len(letters)),
            "examples": examples}


def compare(layer: SettlingLayer, letters: Sequence[str], erase: int, unroll: int,
            seed: int) -> dict:
    """Gradients of one batch's loss, by recurrent backpropagation and through `unroll`
    unrolled steps, on the same weights: their largest difference, nodes and times."""
    data = batch(letters, erase, random.Random(seed))
    out = {}
    for how, steps in (("implicit", None), ("unrolled", unroll)):
        layer.zero_grad()
        started = time.process_time()
        loss = batch_loss(layer, data, steps)
        loss.backward()
        ops = sum(1 for node in topological_order(loss) if node.parents)
        if steps is None:  # each fixed_point node keeps one recorded step for its backward
            ops += len(data) * 3 * layer.nstate  # a dot, a + and a tanh per unit
        out[how] = {"seconds": time.process_time() - started, "ops": ops,
                    "grads": [p.grad for p in layer.parameters()]}
    layer.zero_grad()
    out["max_difference"] = max(
        abs(a - b) for a, b in zip(out["implicit"]["grads"], out["unrolled"]["grads"])
    )
    out["largest_gradient"] = max(abs(g) for g in out["implicit"]["grads"])
    return out


def draw_relaxations(layer: SettlingLayer, letter: str, erase: int, seed: int,
                     folder: Path) -> str:
    """Frames of the forward relaxation (the state settling) and of the adjoint relaxation (the
    error settling) for one corrupted letter: PNGs, and one animated PNG of each."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "frames not drawn: matplotlib is not installed (pip install -e '.[demo]')"
    from autograd.views.frames import animated_png

    shown, _ = corrupt(PATTERNS[letter], erase, random.Random(seed))
    x = layer(shown, trace=True)
    loss = mse(x, PATTERNS[letter])
    loss.backward()
    layer.zero_grad()
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for kind, stats in (("forward", x.forward), ("adjoint", x.adjoint)):
        frames = stats.trace
        scale = max(abs(v) for frame in frames for v in frame) or 1.0
        pngs = []
        for k, frame in enumerate(frames):
            fig, axes = plt.subplots(1, 3, figsize=(6.0, 2.5), dpi=80)
            fig.subplots_adjust(left=0.02, right=0.98, bottom=0.03, top=0.76, wspace=0.15)
            change = max(abs(a - b) for a, b in zip(frame, frames[k - 1])) if k else 0.0
            step = f"step {k}/{len(frames) - 1}" + (f", largest change {change:.1e}" if k else "")
            if kind == "forward":
                panels = [(shown, "input (grey: erased)"), (frame, f"state x, step {k}"),
                          (PATTERNS[letter], "letter")]
                caption = f"forward relaxation x <- tanh(W x + u * p + b)\n{step}"
            else:
                panels = [(frames[0], "g = dloss/dx"), (frame, f"u, step {k}"),
                          (frames[-1], "u settled")]
                caption = f"adjoint relaxation u <- g + J^T u\n{step}"
            for ax, (pixels, title) in zip(axes, panels):
                top = 1.0 if kind == "forward" else scale
                ax.imshow([pixels[r * SIDE : (r + 1) * SIDE] for r in range(SIDE)],
                          cmap="gray" if kind == "forward" else "RdBu_r", vmin=-top, vmax=top)
                ax.set_title(title, fontsize=9)
                ax.set_xticks([])
                ax.set_yticks([])
            fig.suptitle(caption, fontsize=9)
            path = folder / f"{kind}_{k:02d}.png"
            fig.savefig(path)
            plt.close(fig)
            pngs.append(path.read_bytes())
        animation = folder / f"{kind}.apng"
        animation.write_bytes(animated_png(pngs, seconds=0.4))
        written.append(f"{len(frames)} {kind} frames")
    return f"{' and '.join(written)} of letter {letter} written to {folder} (and .apng animations)"


def report_training(name: str, summary: dict, every: int) -> None:
    losses = summary["losses"]
    shown = [f"{losses[i]:.4f}" for i in range(0, len(losses), every)] + [f"{losses[-1]:.4f}"]
    print(f"  {name}: loss {' -> '.join(shown)} in {summary['seconds']:.1f} s of CPU time")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--letters", default="TXOH", help="letters to store, from TLXOH (TXOH)")
    p.add_argument("--steps", type=int, default=80, help="training steps, one batch each (80)")
    p.add_argument("--lr", type=float, default=0.05, help="Adam learning rate (0.05)")
    p.add_argument("--erase", type=int, default=12, help="pixels erased of the 25 (12)")
    p.add_argument("--trials", type=int, default=40, help="test corruptions per letter (40)")
    p.add_argument("--unroll", type=int, default=60,
                   help="steps of the unrolled network trained beside it (60); 0 skips it")
    p.add_argument("--seed", type=int, default=0, help="weight and data seed (0)")
    p.add_argument("--frames", metavar="DIR", help="draw the two relaxations frame by frame")
    args = p.parse_args(argv)
    letters = list(dict.fromkeys(args.letters.upper()))
    unknown = [k for k in letters if k not in PATTERNS]
    if unknown or not letters:
        p.error(f"--letters: choose from {''.join(PATTERNS)}, got {args.letters!r}")
    if not 0 <= args.erase < SIDE * SIDE:
        p.error(f"--erase must be from 0 to {SIDE * SIDE - 1}, got {args.erase}")
    for flag in ("steps", "trials"):
        if getattr(args, flag) < 1:
            p.error(f"--{flag} must be at least 1, got {getattr(args, flag)}")
    if args.unroll < 0:
        p.error(f"--unroll must be 0 or more, got {args.unroll}")

    print("Stored patterns:")
    print(side_by_side([grid(PATTERNS[k]) for k in letters], letters))
    layer = SettlingLayer(SIDE * SIDE, SIDE * SIDE, inputs="one_to_one", seed=args.seed)
    start = layer.state_dict()
    before = completion(layer, letters, args.trials, args.erase, args.seed + 1)
    print(f"\n{layer}, {len(layer.parameters())} parameters, contraction bound "
          f"{layer.contraction_bound():.2f}; {args.erase} of 25 pixels erased in every input")
    print(f"untrained: {before['pixels']:.1%} of erased pixels right (guessing: about 50%)")

    print(f"\nTraining, {args.steps} steps of {len(letters)} corrupted letters, Adam lr {args.lr}:")
    implicit = train(layer, letters, args.steps, args.lr, args.erase, args.seed)
    report_training("recurrent backpropagation (fixed_point)", implicit, max(args.steps // 4, 1))
    print(f"  the state settled (change < {layer.tol:g}) in at most "
          f"{implicit['most_iterations']} steps; contraction bound now "
          f"{layer.contraction_bound():.2f}")
    unrolled_layer = None
    if args.unroll:
        unrolled_layer = SettlingLayer(SIDE * SIDE, SIDE * SIDE, inputs="one_to_one",
                                       seed=args.seed)
        unrolled_layer.load_state_dict(start)
        unrolled = train(unrolled_layer, letters, args.steps, args.lr, args.erase, args.seed,
                         unroll=args.unroll)
        report_training(f"backpropagation through {args.unroll} unrolled steps", unrolled,
                        max(args.steps // 4, 1))

    result = completion(layer, letters, args.trials, args.erase, args.seed + 1)
    print(f"\nCompletion of {args.trials} fresh corruptions of each letter ({args.erase} pixels "
          "erased):")
    for k, shown, out in result["examples"]:
        print(side_by_side([grid(shown), grid(out), grid(PATTERNS[k])],
                           ["input", "settled", "letter"]))
        print()
    print(f"recurrent backpropagation: {result['pixels']:.1%} of erased pixels restored, "
          f"{result['whole']:.1%} of letters restored whole")
    first = completion(layer, letters, args.trials, args.erase, args.seed + 1, unroll=1)
    print(f"  read after its first step (input and bias alone, before the units interact): "
          f"{first['pixels']:.1%} of erased pixels")
    if unrolled_layer is not None:
        other = completion(unrolled_layer, letters, args.trials, args.erase, args.seed + 1)
        drift = max(abs(a.data - b.data) for a, b in
                    zip(layer.parameters(), unrolled_layer.parameters()))
        print(f"unrolled {args.unroll} steps:        {other['pixels']:.1%} of erased pixels "
              f"restored, {other['whole']:.1%} of letters restored whole (weights differ from "
              f"the other network's by at most {drift:.1e})")

        c = compare(layer, letters, args.erase, args.unroll, args.seed + 2)
        print(f"\nGradients of one batch on the trained weights, the two ways "
              f"({len(letters)} letters):")
        print(f"  largest difference {c['max_difference']:.1e} (largest gradient "
              f"{c['largest_gradient']:.1e})")
        for how, label in (("implicit", "recurrent backpropagation"),
                           ("unrolled", f"unrolled {args.unroll} steps")):
            print(f"  {label:<26} {c[how]['ops']:>7,} recorded op nodes  "
                  f"{c[how]['seconds'] * 1000:7.1f} ms of CPU (forward and backward)")
    if args.frames:
        print("\n" + draw_relaxations(layer, letters[0], args.erase, args.seed + 3,
                                      Path(args.frames)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
