"""The course's way in: the start page, and the links that tie the notebooks together.

    .venv/bin/python scripts/navigation.py          # write the start page and the nav cells
    .venv/bin/python scripts/navigation.py --check  # exit 1 if anything is out of date

One table, ``COURSE`` below, is the course's order. From it this script writes

- ``notebooks/00_start_here.ipynb``, the start page ``make lab`` opens: the course map (chapter,
  what you learn, lecture, exercises, suggested time), how to work, where the book's other
  chapters will go;
- in every lecture, solution and exercise notebook, a header cell (where the notebook sits, the
  previous and next notebooks, its exercises) and a footer cell (what to do next), both tagged
  ``course-nav`` and replaced on every run;
- links for the code-span paths the prose already names
  (`` `exercises/ch01_perceptron_exercises.ipynb` ``, `` `ch07a_rnn_basics` ``), so that a
  student clicks instead of typing.

Links are relative (``ch02a_shallow_models.ipynb``,
``../exercises/ch01_perceptron_exercises.ipynb``): they open in JupyterLab, and a static site
that maps ``.ipynb`` to ``.html`` keeps them working.
Exercise notebooks are generated from solutions (``course_lib.instructor.exercises``): run that
after this.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import NamedTuple

from course_lib.instructor.exercises import EXERCISE_SUFFIX, exercise_name

ROOT = Path(__file__).resolve().parents[1]
NAV_TAG = "course-nav"
START = "00_start_here"


class Entry(NamedTuple):
    stem: str
    chapter: int
    title: str
    sources: str
    learn: str
    minutes: str  # suggested time: lecture + exercises


COURSE: tuple[Entry, ...] = (
    Entry(
        "ch01_perceptron",
        1,
        "The perceptron",
        "Aggarwal §1.1–1.2, §1.5",
        "the update rule; the convergence theorem proved and measured; XOR; activations",
        "1½ h + 2 h",
    ),
    Entry(
        "ch01b_depth_and_capacity",
        1,
        "Depth, width and what a network can represent",
        "Aggarwal §1.2.2–1.2.3, §1.5.1–1.5.2",
        "layer shapes and parameter counts, linear layers collapse, universal approximation by "
        "steep sigmoids, the tent map: 2^r pieces from 2r units",
        "1 h + 1 h",
    ),
    Entry(
        "ch02a_shallow_models",
        2,
        "One neuron, many models",
        "Aggarwal §2.1–2.4",
        "least squares, logistic regression, SVMs, multiclass losses, saliency",
        "1½ h + 1½ h",
    ),
    Entry(
        "ch02b_autoencoders_word2vec",
        2,
        "Autoencoders, matrix factorization, word2vec",
        "Aggarwal §2.5–2.7",
        "the linear autoencoder is the SVD; recommenders; word and graph embeddings",
        "1½ h + 1½ h",
    ),
    Entry(
        "ch02c_likelihood_margins",
        2,
        "Likelihood, margins and a cheaper softmax",
        "Aggarwal §1.2.1.1, §2.2.3–2.2.4, §2.3.4",
        "the 0/1 loss and the pocket algorithm, logistic regression as maximum likelihood, the "
        "SVM's margin and what λ buys, hierarchical softmax",
        "1½ h + 1½ h",
    ),
    Entry(
        "ch02d_embeddings_outliers",
        2,
        "Co-occurrence factorization, random walks and outliers",
        "Aggarwal §2.5.4, §2.6.4, §2.7.3",
        "skip-gram as multinomial matrix factorization (Eq 2.60), DeepWalk and node2vec walks, "
        "outliers from reconstruction errors",
        "1 h + 1 h",
    ),
    Entry(
        "ch03a_backprop",
        3,
        "Backpropagation is dynamic programming",
        "Aggarwal §1.3, §3.2",
        "computational graphs, backprop by hand = jax.grad, gradient checking",
        "1½ h + 1½ h",
    ),
    Entry(
        "ch03b_optimizers",
        3,
        "Gradient-descent strategies",
        "Aggarwal §3.5; Goodfellow §8.3–8.6",
        "momentum, Nesterov, AdaGrad, RMSProp, Adam, Newton, conjugate gradients, clipping",
        "2 h + 1½ h",
    ),
    Entry(
        "ch03c_training_deep_nets",
        3,
        "Training deep networks",
        "Aggarwal §3.3–3.4, §3.6; Goodfellow §8.4, §8.7.1",
        "initialization, vanishing gradients, dead ReLUs, batch normalization",
        "1 h + 1 h",
    ),
    Entry(
        "ch03d_second_order",
        3,
        "Second-order and quasi-Newton methods",
        "Aggarwal §3.5.6, §3.5.8; Goodfellow §8.6–8.7",
        "BFGS and L-BFGS, Hessian-vector products and Hessian-free optimization, coordinate "
        "descent, local minima",
        "1½ h + 1 h",
    ),
    Entry(
        "ch03e_tuning_and_compression",
        3,
        "Tuning and shrinking a network",
        "Aggarwal §3.3.1, §3.4.3.2, §3.7.3; Goodfellow §11.4",
        "grid against random search, maxout units, magnitude pruning and low-precision weights",
        "1½ h + 1 h",
    ),
    Entry(
        "ch04a_bias_variance",
        4,
        "Overfitting and the bias–variance trade-off",
        "Aggarwal §1.4, §4.1–4.3",
        "zero-error fits that disagree, the minimum-norm one; bias² + variance + noise measured; "
        "model capacity, learning curves, the winner's curse of model selection",
        "1½ h + 1½ h",
    ),
    Entry(
        "ch04b_penalties",
        4,
        "Penalties and early stopping",
        "Aggarwal §4.4, §4.6",
        "weight decay, input noise = L2, L1 and exact zeros, penalties on hidden units, "
        "early stopping as an L2 penalty",
        "1½ h + 1½ h",
    ),
    Entry(
        "ch04c_ensembles_dropout",
        4,
        "Ensembles, dropout and pretraining",
        "Aggarwal §4.5, §4.7",
        "bagging and the 1/e out-of-bag fraction, dropout by hand, the weight-scaling rule, "
        "greedy layer-wise pretraining",
        "1½ h + 1½ h",
    ),
    Entry(
        "ch04d_regularized_autoencoders",
        4,
        "Regularized autoencoders and the VAE",
        "Aggarwal §4.10",
        "sparse, de-noising and contractive autoencoders; a variational autoencoder on digits",
        "1½ h + 1½ h",
    ),
    Entry(
        "ch05a_rbf_networks",
        5,
        "Radial basis function networks",
        "Aggarwal §5.1–5.2",
        "Gaussian bumps and bandwidth rules, prototypes by k-means, the output layer three ways, "
        "orthogonal least squares, training the prototypes by backpropagation",
        "1½ h + 1½ h",
    ),
    Entry(
        "ch05b_rbf_kernels",
        5,
        "RBF classifiers, interpolation and kernel methods",
        "Aggarwal §5.3–5.4",
        "XOR made separable by four bumps, perceptron and hinge heads, exact interpolation, where "
        "an RBF network equals kernel ridge regression and where it does not",
        "1½ h + 1½ h",
    ),
    Entry(
        "ch06a_hopfield",
        6,
        "Hopfield networks",
        "Aggarwal §6.1–6.2",
        "the energy that updates never raise, Hebbian storage, recall from corrupted patterns, "
        "capacity measured against 0.138 N, spurious states",
        "1½ h + 1 h",
    ),
    Entry(
        "ch06b_boltzmann_rbm",
        6,
        "Boltzmann machines and contrastive divergence",
        "Aggarwal §6.3–6.4",
        "exact distributions by enumeration against a Gibbs sampler, the learning rule, the "
        "restricted Boltzmann machine, CD-k against the exact gradient",
        "1½ h + 1½ h",
    ),
    Entry(
        "ch06c_rbm_applications",
        6,
        "RBMs at work",
        "Aggarwal §6.4.3, §6.5–6.7",
        "an RBM on digits, persistent CD and other tricks measured, the unrolled autoencoder, "
        "collaborative filtering with softmax units, stacked RBMs",
        "1½ h + 1½ h",
    ),
    Entry(
        "ch07a_rnn_basics",
        7,
        "Recurrent networks: unfolding and BPTT",
        "Aggarwal §7.1–7.4; Goodfellow §10.1–10.2",
        "lax.scan, backpropagation through time, vanishing gradients, echo-state networks",
        "1½ h + 1½ h",
    ),
    Entry(
        "ch07b_lstm_language_models",
        7,
        "LSTMs and a character-level language model",
        "Aggarwal §7.5–7.6; Goodfellow §10.10",
        "LSTM and GRU cells, long memory, a char-LSTM on English, sampling and beam search",
        "1½ h + 1½ h",
    ),
    Entry(
        "ch07c_rnn_architectures",
        7,
        "Bidirectional and deep recurrent networks",
        "Aggarwal §7.2.3–7.2.4, §7.3.1, §7.7.5",
        "bidirectional and stacked RNNs with BPTT by hand, layer normalization, a linear RNN as "
        "an autoregressive model",
        "1½ h + 1 h",
    ),
    Entry(
        "ch07d_encoder_decoder",
        7,
        "Encoder–decoder networks",
        "Aggarwal §7.7.2–7.7.3; Goodfellow §10.2.1",
        "sequence to sequence with teacher forcing, free running and exposure bias, the "
        "fixed-size bottleneck, sentence classification",
        "1½ h + 1 h",
    ),
    Entry(
        "ch08a_convolution",
        8,
        "Convolution",
        "Aggarwal §8.1–8.3; Goodfellow §9.1–9.6",
        "padding, stride, pooling, backprop through a convolution, filters on a photograph",
        "1½ h + 1½ h",
    ),
    Entry(
        "ch08b_cnn_training",
        8,
        "Training a CNN",
        "Aggarwal §8.3, §8.5; Goodfellow §9.3–9.4",
        "a LeNet on real digits, learned filters, feature maps, saliency and occlusion",
        "1 h + 1½ h",
    ),
    Entry(
        "ch08c_modern_cnns",
        8,
        "Modern CNN architectures",
        "Aggarwal §8.3.4, §8.4.4–8.4.7; Goodfellow §9.8",
        "residual connections against a plain deep net, 1×1 and inception blocks, dilated and "
        "separable convolutions, data augmentation, transfer",
        "1½ h + 1 h",
    ),
    Entry(
        "ch08d_inside_cnns",
        8,
        "Looking inside a CNN",
        "Aggarwal §8.2.8, §8.5.1",
        "deconvnet and guided backpropagation against the plain gradient, digits synthesized by "
        "activation maximization, local response normalization and its erratum",
        "1 h + 1 h",
    ),
    Entry(
        "ch08e_conv_autoencoders",
        8,
        "Convolutional autoencoders and transposed convolution",
        "Aggarwal §8.5.2; Goodfellow §9.5",
        "the transposed convolution as the convolution's adjoint, unpooling, the checkerboard "
        "artifact and resize-convolution, a convolutional autoencoder on digits",
        "1 h + 1 h",
    ),
    Entry(
        "ch09a_bandits",
        9,
        "Reinforcement learning begins: multi-armed bandits",
        "Aggarwal §9.1–9.2",
        "naive, ε-greedy and UCB strategies, regret over hundreds of seeds at once with vmap, the "
        "UCB confidence level corrected",
        "1 h + 1 h",
    ),
    Entry(
        "ch09b_td_learning",
        9,
        "Markov decision processes and bootstrapping",
        "Aggarwal §9.3–9.4",
        "returns and discounting, TD(0), Monte Carlo and TD(λ) against exact Bellman values, "
        "n-step TD, Q-learning against SARSA on the cliff walk",
        "1½ h + 1½ h",
    ),
    Entry(
        "ch09c_dqn",
        9,
        "Deep Q-learning",
        "Aggarwal §9.4.1–9.4.3",
        "CartPole as pure JAX functions, experience replay and a target network, a small DQN "
        "trained over several seeds",
        "1½ h + 1 h",
    ),
    Entry(
        "ch09d_policy_gradients",
        9,
        "Policy gradients",
        "Aggarwal §9.5, §9.7.5",
        "the likelihood-ratio trick derived and checked against exact gradients, baselines and "
        "their variance, Gaussian policies, REINFORCE on CartPole",
        "1½ h + 1½ h",
    ),
    Entry(
        "ch09e_tictactoe_mcts",
        9,
        "Games: tic-tac-toe, minimax and Monte Carlo tree search",
        "Aggarwal §9.3.2, §9.6, §9.7.1",
        "all 5,478 positions solved exactly, the book's table method, MCTS against perfect play",
        "1½ h + 1 h",
    ),
    Entry(
        "ch10a_attention",
        10,
        "Attention and external memory",
        "Aggarwal §10.1–10.3",
        "soft attention as a weighted average, Luong's scores, an attention matrix that finds the "
        "alignment, hard attention by REINFORCE, memory read by content",
        "1½ h + 1½ h",
    ),
    Entry(
        "ch10b_transformer",
        10,
        "Self-attention and a small transformer",
        "Aggarwal §10.2.2, §7.3.1; Vaswani et al. (2017)",
        "scaled dot-product and multi-head attention, positional encodings, causal masks, "
        "a character-level transformer against ch07b's LSTM",
        "1½ h + 1½ h",
    ),
    Entry(
        "ch10c_gans",
        10,
        "Generative adversarial networks",
        "Aggarwal §10.4, Exercises 10.5–10.6",
        "the minimax game on a ring of Gaussians, mode collapse measured, the non-saturating loss, "
        "a conditional GAN, gradient descent–ascent on sin(x + y)",
        "1½ h + 1½ h",
    ),
    Entry(
        "ch10d_competitive",
        10,
        "Competitive learning and Kohonen maps",
        "Aggarwal §10.5",
        "winner-take-all, vector quantization and its storage, k-means as competitive learning, "
        "self-organizing maps on square and hexagonal lattices",
        "1½ h + 1½ h",
    ),
)

#: The book's chapters the course does not cover yet, and where they will go (none now).
COMING: tuple[tuple[int, str, str], ...] = ()


def _label(e: Entry) -> str:
    return f"{e.stem.split('_')[0]} · {e.title}"


def _md(source: str, cell_id: str, *, nbgrader: bool) -> dict:
    metadata: dict = {"tags": [NAV_TAG]}
    if nbgrader:
        metadata["nbgrader"] = {
            "grade": False,
            "grade_id": cell_id,
            "locked": True,
            "schema_version": 3,
            "solution": False,
            "task": False,
        }
    return {"cell_type": "markdown", "id": cell_id, "metadata": metadata, "source": source}


def _gap_note(e: Entry, nxt: Entry | None) -> str:
    if nxt is None or nxt.chapter - e.chapter <= 1:
        return ""
    missing = [c for c in COMING if e.chapter < c[0] < nxt.chapter]
    names = ", ".join(str(c[0]) for c in missing)
    if len(missing) == 1:
        return f" (the book's chapter {names} is not in the course yet: see the course map)"
    return f" (the book's chapters {names} are not in the course yet: see the course map)"


def _ex(e: Entry) -> str:
    """The exercise notebook's file name: ch01_perceptron -> ch01_perceptron_exercises.ipynb."""
    return exercise_name(f"{e.stem}.ipynb")


def header(i: int, kind: str) -> str:
    """The first cell of a notebook: where it sits and its neighbours."""
    e = COURSE[i]
    prev = COURSE[i - 1] if i > 0 else None
    nxt = COURSE[i + 1] if i + 1 < len(COURSE) else None
    up = "" if kind == "lecture" else "../notebooks/"
    parts = [f"[Course map]({up}{START}.ipynb)"]
    if kind == "lecture":
        parts.append(f"lecture {i + 1} of {len(COURSE)}, the book's chapter {e.chapter}")
        if prev:
            parts.append(f"← [{_label(prev)}]({prev.stem}.ipynb)")
        if nxt:
            parts.append(f"[{_label(nxt)}]({nxt.stem}.ipynb) →")
        parts.append(f"[its exercises](../exercises/{_ex(e)})")
    else:
        parts.append(f"exercises for lecture {i + 1} of {len(COURSE)}")
        parts.append(f"[the lecture: {_label(e)}](../notebooks/{e.stem}.ipynb)")
    return "<small>" + " · ".join(parts) + "</small>"


def footer(i: int, kind: str) -> str:
    """The last cell: what to do next."""
    e = COURSE[i]
    nxt = COURSE[i + 1] if i + 1 < len(COURSE) else None
    up = "" if kind == "lecture" else "../notebooks/"
    lines = ["---", ""]
    if kind == "lecture":
        lines.append(
            f"**Now:** the exercises of this notebook, [exercises/{_ex(e)}]"
            f"(../exercises/{_ex(e)}); each one checks itself."
        )
    else:
        lines.append(f"**Back to** [the lecture notebook](../notebooks/{e.stem}.ipynb).")
    if nxt is not None:
        lines.append("")
        lines.append(f"**Next:** [{_label(nxt)}]({up}{nxt.stem}.ipynb){_gap_note(e, nxt)}.")
    else:
        lines.append("")
        lines.append("**This is the last notebook so far.** The course map lists what comes next.")
    lines += ["", f"[Course map]({up}{START}.ipynb)"]
    return "\n".join(lines)


def start_page() -> dict:
    """The start page notebook."""
    rows = [
        "| # | chapter | notebook: what you learn | exercises | suggested time |",
        "| --- | --- | --- | --- | --- |",
    ]
    for i, e in enumerate(COURSE, 1):
        rows.append(
            f"| {i} | {e.chapter} | [**{_label(e)}**]({e.stem}.ipynb)<br>{e.learn}"
            f"<br><small>{e.sources}</small> | [exercises](../exercises/{_ex(e)}) "
            f"| {e.minutes} |"
        )
    coming = "\n".join(f"- **Chapter {c}: {t}**, {where}." for c, t, where in COMING)
    cells = [
        (
            "# Deep learning, from the perceptron to attention\n\n"
            "Welcome. This course teaches neural networks by building them: every idea comes "
            "with the mathematics, a few lines of JAX that compute it, a figure, a control you "
            "can move, and an `assert` that checks what the text claims, on your machine. It "
            "follows Aggarwal's *Neural Networks and Deep Learning* (2018) chapter by chapter, "
            "with sections of Goodfellow, Bengio and Courville's *Deep Learning* (2016); the "
            'notebooks cite both ("Aggarwal §3.5.2") so that you can read along, but you do '
            "not need the books.\n\n"
            "Everything runs offline on a laptop: no GPU, no downloads."
        ),
        (
            "## The course map\n\n"
            "Read the notebooks in this order. Each is named after the book's chapter it follows "
            "(`ch03b` is the second notebook on chapter 3). The time is a suggestion: reading and "
            "running the lecture, then doing its exercises.\n\n" + "\n".join(rows)
        ),
        (
            "## How to work\n\n"
            "1. **Open a lecture notebook and run it**: *Run → Run All Cells* (or Shift+Enter cell "
            "by cell). Each notebook runs in under a minute. The first run of a session is the "
            "slowest, because JAX compiles; later runs reuse the compiled code.\n"
            "2. **Read with the figures.** Every figure has a short description for screen "
            "readers.\n"
            "3. **Move the sliders.** Each notebook has at least one interactive figure. Before "
            "you run the notebook it shows a still picture; after you run it, the controls "
            "redraw it as you move them. A picture that dims is being redrawn.\n"
            "4. **Trust the asserts.** A cell that says `assert ...` checks a claim the text just "
            "made. If one fails on your machine, that is a bug in the course: please report it.\n"
            "5. **Do the exercises.** Each lecture ends with a link to its exercise notebook. "
            "Write your code where it says `# YOUR CODE HERE`, run the cell, then run the "
            "self-check below it: it says ✔ when you are right, or which case fails, what was "
            "expected, what came, and a hint.\n"
            "6. **Your work is yours.** `make lab` opens a personal copy of the course in `work/`; "
            "updates of the course never overwrite what you wrote or ran there."
        ),
        *(
            [
                "## Where the other chapters will go\n\n"
                "These chapters of the book are still being written for the course:\n\n" + coming
            ]
            if COMING
            else []
        ),
        (f"**Start here:** [{_label(COURSE[0])}]({COURSE[0].stem}.ipynb)."),
    ]
    nb = {
        "cells": [
            {"cell_type": "markdown", "id": f"start-{k}", "metadata": {}, "source": src}
            for k, src in enumerate(cells)
        ],
        "metadata": {
            "kernelspec": {
                "display_name": "Deep Learning course (JAX)",
                "language": "python",
                "name": "dl-course",
            },
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return nb


def _split_lines(source: str) -> list[str]:
    lines = source.splitlines(keepends=True)
    return lines


_STEMS = "|".join(re.escape(e.stem) for e in COURSE)


def link_code_spans(source: str, kind: str) -> str:
    """Turn `exercises/ch01_perceptron_exercises.ipynb` and `ch07a_rnn_basics` code spans into
    links (an older `exercises/ch01_perceptron.ipynb` gets the exercise file's name)."""
    up = "" if kind == "lecture" else "../notebooks/"

    def ex(m: re.Match) -> str:
        name = f"{m.group(1)}{EXERCISE_SUFFIX}.ipynb"
        return f"[`exercises/{name}`](../exercises/{name})"

    def lec(m: re.Match) -> str:
        return f"[`{m.group(1)}`]({up}{m.group(1)}.ipynb)"

    # only code spans that are not already link text (no "[" just before)
    source = re.sub(rf"(?<!\[)`exercises/({_STEMS})(?:{EXERCISE_SUFFIX})?\.ipynb`", ex, source)
    source = re.sub(rf"(?<!\[)`(?:notebooks/)?({_STEMS})(?:\.ipynb)?`(?!\])", lec, source)
    return source


def apply(path: Path, i: int, kind: str) -> dict:
    """The notebook at ``path`` with its nav cells (re)written and code-span paths linked."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    nbgrader = kind != "lecture"
    cells = [c for c in nb["cells"] if NAV_TAG not in c.get("metadata", {}).get("tags", [])]
    for c in cells:
        if c["cell_type"] == "markdown":
            src = "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
            new = link_code_spans(src, kind)
            if new != src:
                c["source"] = _split_lines(new)
    top = _md(header(i, kind), "course-nav-header", nbgrader=nbgrader)
    bottom = _md(footer(i, kind), "course-nav-footer", nbgrader=nbgrader)
    for cell in (top, bottom):
        cell["source"] = _split_lines(cell["source"])
    nb["cells"] = [top, *cells, bottom]
    return nb


def _dump(nb: dict) -> str:
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


def plan() -> dict[Path, str]:
    """Every file this script writes, with its content."""
    out: dict[Path, str] = {}
    start = start_page()
    for c in start["cells"]:
        c["source"] = _split_lines(c["source"])
    out[ROOT / "notebooks" / f"{START}.ipynb"] = _dump(start)
    for i, e in enumerate(COURSE):
        for folder, kind in (("notebooks", "lecture"), ("solutions", "solution")):
            path = ROOT / folder / f"{e.stem}.ipynb"
            if path.exists():
                out[path] = _dump(apply(path, i, kind))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only report what is out of date")
    args = parser.parse_args(argv)
    stale = []
    for path, text in plan().items():
        old = path.read_text(encoding="utf-8") if path.exists() else None
        if old != text:
            stale.append(path)
            if not args.check:
                path.write_text(text, encoding="utf-8")
    for path in stale:
        verb = "out of date" if args.check else "wrote"
        print(f"{verb}: {path.relative_to(ROOT)}")
    if args.check and stale:
        print("run: python scripts/navigation.py, then python -m course_lib.instructor.exercises")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
