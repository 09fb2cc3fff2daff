"""Self-checks for the exercise notebooks: run a student's function, explain what is wrong.

An exercise notebook asks for a function; the cell after it calls one check with that function,
e.g. ``checks.perceptron_epoch(perceptron_epoch)``. A check runs the function on a handful of
fixed inputs ("cases"), compares each answer with an independent reference (the library,
``jax.grad``, or a forward pass written out in the check), and either prints one line::

    ✔ perceptron_epoch (Exercise 1.6): all 6 checks passed.

or raises :class:`CheckFailed`, whose message says which exercise, which case (in words), what
was expected and what came back (values and shapes), and gives a hint. Inside Jupyter the
message is shown *instead of* a stack trace (IPython calls ``_render_traceback_``), so the
student sees the explanation and not the checker's code.

This module holds the machinery shared by every chapter; the checks themselves live in one
module per course concept (:mod:`course_lib.checks.perceptron` for chapter 1) and are
re-exported here, so that notebooks write ``checks.<exercise>(...)``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

PASS_MARK = "✔"
FAIL_MARK = "✘"

_RED = "\x1b[31m"
_BOLD = "\x1b[1m"
_RESET = "\x1b[0m"


class Exercise(NamedTuple):
    """Which exercise a check belongs to: the function's name and the book's number."""

    name: str  # the function the student writes, e.g. "perceptron_epoch"
    number: str  # e.g. "1.6"; "" for an exercise that is not from the book's list

    def __str__(self) -> str:
        return f"{self.name} (Exercise {self.number})" if self.number else self.name


class CheckFailed(AssertionError):
    """A self-check found a problem. The message is meant for the student, not for a debugger.

    Attributes:
        exercise: the :class:`Exercise`.
        problem: one line saying what is wrong ("wrong value of new_w", "not implemented yet").
        case: the input case in words, or ``None`` when the problem is not about one input.
        details: further lines (expected vs got, the inputs).
        hint: a nudge towards the fix (never the reference code), or ``None``.
    """

    def __init__(
        self,
        exercise: Exercise,
        problem: str,
        *,
        case: str | None = None,
        details: Sequence[str] = (),
        hint: str | None = None,
    ) -> None:
        self.exercise = exercise
        self.problem = problem
        self.case = case
        self.details = list(details)
        self.hint = hint
        super().__init__("\n".join(self._lines()))

    def _lines(self, color: bool = False) -> list[str]:
        red, bold, reset = (_RED, _BOLD, _RESET) if color else ("", "", "")
        lines = [f"{red}{bold}{FAIL_MARK} {self.exercise}: {self.problem}{reset}"]
        if self.case:
            lines.append(f"  case: {self.case}")
        lines.extend(f"  {line}" for line in self.details)
        if self.hint:
            lines.append(f"  {bold}hint:{reset} {self.hint}")
        return lines

    def _render_traceback_(self) -> list[str]:
        """What IPython shows instead of a traceback: the friendly message, nothing else."""
        return self._lines(color=True)


# ------------------------------------------------------------------------------ formatting


def _fmt(value: Any, digits: int = 4) -> str:
    """A short, readable rendering of a number or an array (``digits`` significant digits)."""
    try:
        arr = np.asarray(value)
    except Exception:  # something exotic: fall back to repr, cut short
        return repr(value)[:80]
    if arr.dtype == object or arr.dtype.kind not in "biuf":
        return repr(value)[:80]
    arr = arr.astype(np.float64) + 0.0  # + 0.0 turns -0.0 into 0.0
    if arr.ndim == 0:
        return f"{float(arr):.{digits}g}"
    width = max((len(f"{x:.{digits}g}") for x in arr.flat), default=1)
    text = np.array2string(
        arr,
        separator=", ",
        formatter={"float_kind": lambda x: f"{x:.{digits}g}".rjust(width)},
        max_line_width=88,
        threshold=40,
    )
    return text.replace("\n", "\n" + " " * 12)


def _describe(value: Any) -> str:
    """What kind of thing ``value`` is, for "expected a tuple, got ..." messages."""
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        return f"an array of shape {tuple(value.shape)} (dtype {value.dtype})"
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of length {len(value)}"
    if value is None:
        return "None (did you forget a `return`?)"
    return f"a {type(value).__name__} ({_fmt(value)})"


def _shape_text(arr: np.ndarray) -> str:
    return "()" if arr.ndim == 0 else str(tuple(arr.shape))


# ------------------------------------------------------------------------------ calling

# What JAX raises when traced code needs a concrete value (a Python `if` on an array, int(x), ...).
_TRACING_ERRORS = (
    jax.errors.ConcretizationTypeError,
    jax.errors.TracerArrayConversionError,
    jax.errors.TracerIntegerConversionError,
    jax.errors.NonConcreteBooleanIndexError,
)


def _call(
    ex: Exercise,
    fn: Callable[..., Any],
    args: Sequence[Any],
    case: str,
    details: Sequence[str] = (),
) -> Any:
    """Call the student's ``fn(*args)``, turning any exception into a :class:`CheckFailed`.

    ``case`` describes the input in words; ``details`` may add lines (e.g. the input arrays).
    """
    if not callable(fn):
        raise CheckFailed(
            ex,
            f"expected a function, got {_describe(fn)}",
            hint=f"pass the function itself: checks.{ex.name}({ex.name}), without parentheses.",
        )
    try:
        return fn(*args)
    except CheckFailed:
        raise
    except NotImplementedError:
        raise CheckFailed(
            ex,
            "not implemented yet (calling it raised NotImplementedError)",
            case=case,
            hint=(
                "replace the lines `# YOUR CODE HERE` and `raise NotImplementedError(...)` "
                "with your code, run that cell, then run this check again. (If you did, a "
                "function that yours calls may still be unimplemented.)"
            ),
        ) from None
    except _TRACING_ERRORS as exc:
        raise CheckFailed(
            ex,
            f"calling it raised {type(exc).__name__} (JAX could not trace it)",
            case=case,
            details=[f"error: {_first_line(exc)}", *details],
            hint=(
                "under jax.jit the arrays have no concrete values, so a Python `if`, `int(...)`, "
                "`bool(...)` or a NumPy function (np.*) on them fails. Use jnp.* functions, and "
                "choose between two results with jnp.where(condition, a, b); a Python `for` "
                "loop over range(n) is fine."
            ),
        ) from None
    except Exception as exc:
        raise CheckFailed(
            ex,
            f"calling it raised {type(exc).__name__}",
            case=case,
            details=[f"error: {_first_line(exc)}", *details],
            hint="run your function on this input yourself and read the error message.",
        ) from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else "(no message)"


# ------------------------------------------------------------------------------ converting


def _array(
    ex: Exercise,
    case: str,
    name: str,
    value: Any,
    shape: tuple[int, ...] | None = None,
    *,
    hint: str | None = None,
) -> np.ndarray:
    """``value`` as a float64 NumPy array of the given shape, or a :class:`CheckFailed`."""
    try:
        arr = np.asarray(value)
    except Exception:
        arr = None
    if arr is None or arr.dtype == object or arr.dtype.kind not in "biuf":
        raise CheckFailed(
            ex,
            f"{name} should be an array of numbers, got {_describe(value)}",
            case=case,
            hint=hint,
        )
    arr = arr.astype(np.float64)
    if shape is not None and arr.shape != tuple(shape):
        raise CheckFailed(
            ex,
            f"{name} has the wrong shape",
            case=case,
            details=[f"expected shape {tuple(shape)}", f"got      shape {_shape_text(arr)}"],
            hint=hint,
        )
    return arr


def _scalar(ex: Exercise, case: str, name: str, value: Any, *, integer: bool = False) -> float:
    """A real number (shape ``()``), or a whole number when ``integer``; else CheckFailed."""
    arr = _array(ex, case, name, value)
    if arr.ndim != 0:
        raise CheckFailed(
            ex,
            f"{name} should be a single number, got an array of shape {_shape_text(arr)}",
            case=case,
            hint="reduce it to one number (e.g. with .sum() or an index) before returning.",
        )
    number = float(arr)
    if integer and (not np.isfinite(number) or number != round(number)):
        raise CheckFailed(
            ex,
            f"{name} should be a whole number (a count), got {_fmt(number)}",
            case=case,
        )
    return number


def _unpack(ex: Exercise, case: str, value: Any, names: Sequence[str]) -> tuple[Any, ...]:
    """Check that ``value`` is a tuple (or list) of ``len(names)`` items and return them."""
    if not isinstance(value, (tuple, list)) or len(value) != len(names):
        wanted = ", ".join(names)
        raise CheckFailed(
            ex,
            f"expected a tuple ({wanted}), got {_describe(value)}",
            case=case,
            hint=f"end your function with `return {wanted}`.",
        )
    return tuple(value)


# ------------------------------------------------------------------------------ comparing


_SHOW_ALL = 12  # arrays with more entries are summarized, not printed whole


def _compare(
    ex: Exercise,
    case: str,
    name: str,
    got: Any,
    expected: Any,
    *,
    rtol: float = 1e-5,
    atol: float = 1e-5,
    hint: str | None = None,
    details: Sequence[str] = (),
    summary: bool = True,
) -> None:
    """Raise :class:`CheckFailed` unless ``got`` equals ``expected`` (same shape, within tolerance).

    ``got`` must already be a NumPy array (see :func:`_array`); NaN never matches. Arrays of
    more than ``_SHOW_ALL`` entries are summarized by their first differing rows, unless
    ``summary`` is False (the caller's ``details`` then say where they differ, in its terms).
    """
    got = np.asarray(got, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    if max(got.size, expected.size) <= _SHOW_ALL:
        lines = [
            f"expected {name} = {_fmt(expected)}   shape {_shape_text(expected)}",
            f"got      {name} = {_fmt(got)}   shape {_shape_text(got)}",
        ]
    else:
        lines = [f"expected shape {_shape_text(expected)}", f"got      shape {_shape_text(got)}"]
    if got.shape != expected.shape:
        raise CheckFailed(
            ex, f"{name} has the wrong shape", case=case, details=[*lines, *details], hint=hint
        )
    close = np.isclose(got, expected, rtol=rtol, atol=atol)
    if not bool(np.all(close)):
        if got.size <= _SHOW_ALL and _fmt(got) == _fmt(expected):
            # They differ beyond the 4th digit: show enough digits to see where, and by how much.
            worst = np.max(np.abs(got - expected) / np.maximum(np.abs(expected), atol))
            lines = [
                f"expected {name} = {_fmt(expected, 9)}   shape {_shape_text(expected)}",
                f"got      {name} = {_fmt(got, 9)}   shape {_shape_text(got)}",
                f"they agree to 4 digits but not within the tolerance: largest relative "
                f"difference {worst:.2g} (allowed: {rtol:g})",
            ]
        if got.size > _SHOW_ALL and summary:
            # Too long to read side by side: name the shape, then the first rows that differ.
            lines = [f"expected {name}: shape {_shape_text(expected)}; got the same shape"]
            rows = np.flatnonzero(~close.reshape(close.shape[0], -1).all(axis=1))
            what = "entries" if got.ndim == 1 else "rows"
            lines.append(f"{len(rows)} of {got.shape[0]} {what} differ, e.g.:")
            for i in rows[:3]:
                lines.append(f"  [{i}] expected {_fmt(expected[i])}, got {_fmt(got[i])}")
        if not bool(np.all(np.isfinite(got))):
            lines.append("your result contains NaN or infinity")
        raise CheckFailed(
            ex, f"wrong value of {name}", case=case, details=[*lines, *details], hint=hint
        )


def _close_within(rtol: float, atol: float) -> Callable[..., bool]:
    """A check module's ``_close(a, b, rtol=rtol, atol=atol)``: the same shape, and equal within
    the tolerances, compared in float64 (each module sets the defaults its checks need)."""

    def close(a: Any, b: Any, rtol: float = rtol, atol: float = atol) -> bool:
        a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
        return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=atol))

    return close


def _f(x: Any) -> jax.Array:
    """A float array in the default float dtype (float32, or float64 when x64 is on): the
    inputs the checks hand to a student's function."""
    return jnp.asarray(np.asarray(x, dtype=np.float64), dtype=jnp.result_type(float))


def _passed(ex: Exercise, count: int) -> None:
    """Print the single line that tells the student the exercise is done."""
    print(f"{PASS_MARK} {ex}: all {count} checks passed.")


# The chapters' checks (imported last: they use the machinery above).
from course_lib.checks.attention import (  # noqa: E402
    attend_tokens,
    content_read,
    luong_score,
    reinforce_gradient,
    soft_attention,
    sorting_step,
)
from course_lib.checks.backprop import (  # noqa: E402
    max_product_grad,
    pairwise_products_grad,
    product_neuron_grads,
    reverse_accumulate,
    softmax_ce_grad,
    softmax_jacobian,
    two_layer_backward,
)
from course_lib.checks.bandits import (  # noqa: E402
    annealed_epsilon,
    epsilon_greedy_choice,
    incremental_mean,
    regret,
    rps_arm_means,
    ucb_scores,
)
from course_lib.checks.boltzmann import (  # noqa: E402
    boltzmann_energy,
    cd1_gradient,
    exact_distribution,
    fully_visible_gradient,
    gibbs_conditional,
    hidden_probs,
    rbm_free_energy,
    visible_bias_init,
)
from course_lib.checks.cnn_training import (  # noqa: E402
    conv_layer,
    conv_layer_grads,
    evaluate,
    lenet_param_count,
    max_pool_reshape,
    occlusion_drop,
    saliency_map,
)
from course_lib.checks.competitive import (  # noqa: E402
    lattice_coords,
    online_kmeans_step,
    som_step,
    storage_bits,
    vq_winner,
    wta_step,
)
from course_lib.checks.conv_autoencoders import (  # noqa: E402
    conv_transpose_scatter,
    hybrid_predict,
    overlap_count,
    transposed_output_size,
    unpool_switches,
)
from course_lib.checks.convolution import (  # noqa: E402
    conv1d_padded,
    conv2d_loops,
    conv_backward,
    conv_output_size,
    convolution_matrix,
    maxpool_backward,
    vgg_sizes_and_params,
)
from course_lib.checks.deepnets import (  # noqa: E402
    batchnorm_backward,
    batchnorm_forward,
    dead_fraction,
    layer_grad_norms,
    sigmoid_chain_grad,
    xavier_std,
)
from course_lib.checks.depth import (  # noqa: E402
    collapse,
    compose_tent,
    count_pieces,
    param_count,
    staircase,
    tent,
)
from course_lib.checks.dqn import (  # noqa: E402
    cartpole_step,
    dqn_loss,
    epsilon_greedy_action,
    polyak_update,
    replay_insert,
    td_target,
)
from course_lib.checks.embeddings import (  # noqa: E402
    cbow_update,
    logistic_mf_nll,
    masked_mf_grad,
    negative_sampling_distribution,
    nmf_step,
    optimal_encoder,
    sgns_example_update,
)
from course_lib.checks.ensembles import (  # noqa: E402
    dropout_forward,
    equicorrelated_variance,
    geometric_mean_prediction,
    oob_fraction,
    stage_reconstruction_loss,
    weight_scaled_prediction,
)
from course_lib.checks.games import (  # noqa: E402
    legal_moves,
    minimax_value,
    puct_scores,
    table_credit,
    visit_policy,
    winner,
)
from course_lib.checks.gan import (  # noqa: E402
    discriminator_loss,
    game_values,
    gda,
    generator_loss,
    modes_covered,
    optimal_discriminator,
)
from course_lib.checks.gated import (  # noqa: E402
    beam_step,
    bigram_cross_entropy,
    cell_path_jacobian,
    gru_step,
    lstm_step,
    softmax_with_temperature,
    surprising_positions,
)
from course_lib.checks.generalization import (  # noqa: E402
    bias_variance_terms,
    bottleneck_rank,
    collapse_linear_stack,
    collinear_dataset,
    kfold_indices,
    learning_curve,
    min_norm_solution,
    pick_on_validation,
    polynomial_features,
)
from course_lib.checks.hopfield import (  # noqa: E402
    async_sweep,
    complete_attributes,
    find_local_minima,
    hebbian_weights,
    hopfield_energy,
    hopfield_energy_gap,
)
from course_lib.checks.inside_cnns import (  # noqa: E402
    ascent_step,
    backward_by_rule,
    greedy_caption,
    guided_relu_backward,
    lrn_loops,
)
from course_lib.checks.likelihood_margins import (  # noqa: E402
    ensemble_network,
    neighbourhood_step,
    plsa_update,
    stack_features,
    ww_loss,
)
from course_lib.checks.linear_models import (  # noqa: E402
    mistake_factor,
    multiclass_perceptron_epoch,
    ridge_solution,
    scaled_margin_loss,
    softmax_loss_and_grad,
    weston_watkins_grad,
)
from course_lib.checks.modern_cnns import (  # noqa: E402
    bottleneck_params,
    class_subset,
    conv1x1_dense,
    dilated_receptive_field,
    edge_response,
    random_shift,
    residual_block,
)
from course_lib.checks.optim import (  # noqa: E402
    adagrad_step,
    adam_step,
    clip_by_norm,
    gd_x2_y10,
    momentum_step,
    newton_step_quadratic,
    stability_limit,
)
from course_lib.checks.perceptron import (  # noqa: E402
    cycle_period,
    ex9_grad_x1,
    ex9_output,
    grid_argmax,
    hinge_epoch,
    perceptron_epoch,
    perceptron_updates,
    sigmoid_prime,
    tanh_prime,
    xor_features,
    xor_relu_network,
)
from course_lib.checks.policy_gradient import (  # noqa: E402
    fd_gradient,
    gaussian_score,
    reinforce_estimate,
    returns_to_go,
    rps_expected_payoff,
    softmax_score,
    with_baseline,
)
from course_lib.checks.rbf import (  # noqa: E402
    bandwidth_rules,
    collapse_dot_product_net,
    hard_ball_layer,
    kmeans_step,
    mu_gradient,
    rbf_sign,
    sigmoid_output_step,
)
from course_lib.checks.rbf_kernels import (  # noqa: E402
    hinge_update,
    kernel_pca,
    kernel_ridge,
    outlier_auc,
    semi_supervised_head,
    softmax_head_step,
    top_k_rbf,
)
from course_lib.checks.rbm_applications import (  # noqa: E402
    cf_predict,
    discriminative_grad,
    discriminative_probs,
    group_word_probs,
    node_embeddings,
    softmax_visible_probs,
    stack_dims,
    topic_rbm_gradient,
    unrolled_reconstruction,
)
from course_lib.checks.recurrent import (  # noqa: E402
    bptt_grads,
    esn_readout,
    jacobian_norms,
    rescale_spectral_radius,
    rnn_forward,
    sigmoid_fixed_point,
)
from course_lib.checks.regularization import (  # noqa: E402
    early_stopping,
    gd_shrinkage,
    hidden_l1_delta,
    noise_equivalent_ridge,
    perceptron_decay_step,
    ridge_sweep,
    soft_threshold,
    weight_decay_step,
)
from course_lib.checks.regularized_autoencoders import (  # noqa: E402
    cae_penalty,
    cae_penalty_relu,
    gaussian_kl,
    masking_noise,
    negative_elbo,
    top_k_activation,
)
from course_lib.checks.rnn_architectures import (  # noqa: E402
    ar_coefficients,
    birnn_states,
    block_esn_predictions,
    layer_norm_grads,
    stacked_states,
    standardize,
    tagging_loss,
)
from course_lib.checks.second_order import (  # noqa: E402
    bfgs_update,
    cg_directions,
    conjugate_directions,
    coordinate_sweep,
    hvp,
    two_loop,
)
from course_lib.checks.seq2seq import (  # noqa: E402
    code_cosine,
    copy_targets,
    decoder_inputs,
    greedy_decode,
    recommender_scores,
    teacher_forced_loss,
    top_hashtags,
)
from course_lib.checks.td_learning import (  # noqa: E402
    bellman_values,
    discounted_return,
    n_step_td_target,
    q_learning_update,
    sarsa_update,
    td0_update,
)
from course_lib.checks.transformer import (  # noqa: E402
    block_param_count,
    causal_mask,
    layer_norm,
    scaled_dot_product_attention,
    sinusoidal_positions,
    split_heads,
)
from course_lib.checks.tuning_compression import (  # noqa: E402
    magnitude_prune,
    preactivation_backprop,
    quantize_uniform,
    recurrence_jacobian,
    sigmoid_vjp,
)
from course_lib.checks.walk_embeddings import (  # noqa: E402
    cooccurrence,
    multinomial_mf_loss,
    node2vec_weights,
    outlier_scores,
    transition_matrix,
)

__all__ = [
    "CheckFailed",
    "Exercise",
    "cycle_period",
    "ex9_grad_x1",
    "ex9_output",
    "grid_argmax",
    "hinge_epoch",
    "perceptron_epoch",
    "perceptron_updates",
    "sigmoid_prime",
    "tanh_prime",
    "xor_features",
    "xor_relu_network",
    "mistake_factor",
    "multiclass_perceptron_epoch",
    "ridge_solution",
    "scaled_margin_loss",
    "softmax_loss_and_grad",
    "weston_watkins_grad",
    "cbow_update",
    "logistic_mf_nll",
    "masked_mf_grad",
    "negative_sampling_distribution",
    "nmf_step",
    "optimal_encoder",
    "sgns_example_update",
    "adagrad_step",
    "adam_step",
    "clip_by_norm",
    "gd_x2_y10",
    "momentum_step",
    "newton_step_quadratic",
    "stability_limit",
    "batchnorm_backward",
    "batchnorm_forward",
    "dead_fraction",
    "layer_grad_norms",
    "sigmoid_chain_grad",
    "xavier_std",
    "dropout_forward",
    "equicorrelated_variance",
    "geometric_mean_prediction",
    "oob_fraction",
    "stage_reconstruction_loss",
    "weight_scaled_prediction",
    "max_product_grad",
    "pairwise_products_grad",
    "product_neuron_grads",
    "reverse_accumulate",
    "softmax_ce_grad",
    "softmax_jacobian",
    "two_layer_backward",
    "conv_layer",
    "conv_layer_grads",
    "evaluate",
    "lenet_param_count",
    "max_pool_reshape",
    "occlusion_drop",
    "saliency_map",
    "conv1d_padded",
    "conv2d_loops",
    "conv_backward",
    "conv_output_size",
    "convolution_matrix",
    "maxpool_backward",
    "vgg_sizes_and_params",
    "early_stopping",
    "gd_shrinkage",
    "hidden_l1_delta",
    "noise_equivalent_ridge",
    "perceptron_decay_step",
    "ridge_sweep",
    "soft_threshold",
    "weight_decay_step",
    "bptt_grads",
    "esn_readout",
    "jacobian_norms",
    "rescale_spectral_radius",
    "rnn_forward",
    "sigmoid_fixed_point",
    "cae_penalty",
    "cae_penalty_relu",
    "gaussian_kl",
    "masking_noise",
    "negative_elbo",
    "top_k_activation",
    "ar_coefficients",
    "birnn_states",
    "block_esn_predictions",
    "layer_norm_grads",
    "stacked_states",
    "standardize",
    "tagging_loss",
    "bfgs_update",
    "cg_directions",
    "conjugate_directions",
    "coordinate_sweep",
    "hvp",
    "two_loop",
    "code_cosine",
    "copy_targets",
    "decoder_inputs",
    "greedy_decode",
    "recommender_scores",
    "teacher_forced_loss",
    "top_hashtags",
    "beam_step",
    "bigram_cross_entropy",
    "cell_path_jacobian",
    "gru_step",
    "lstm_step",
    "softmax_with_temperature",
    "surprising_positions",
    "bias_variance_terms",
    "bottleneck_rank",
    "collapse_linear_stack",
    "collinear_dataset",
    "kfold_indices",
    "learning_curve",
    "min_norm_solution",
    "pick_on_validation",
    "polynomial_features",
    "luong_score",
    "soft_attention",
    "reinforce_gradient",
    "attend_tokens",
    "content_read",
    "sorting_step",
    "scaled_dot_product_attention",
    "causal_mask",
    "sinusoidal_positions",
    "layer_norm",
    "split_heads",
    "block_param_count",
    "game_values",
    "gda",
    "discriminator_loss",
    "generator_loss",
    "optimal_discriminator",
    "modes_covered",
    "wta_step",
    "vq_winner",
    "storage_bits",
    "online_kmeans_step",
    "lattice_coords",
    "som_step",
    "kmeans_step",
    "bandwidth_rules",
    "hard_ball_layer",
    "sigmoid_output_step",
    "rbf_sign",
    "collapse_dot_product_net",
    "mu_gradient",
    "boltzmann_energy",
    "cd1_gradient",
    "exact_distribution",
    "fully_visible_gradient",
    "gibbs_conditional",
    "hidden_probs",
    "rbm_free_energy",
    "visible_bias_init",
    "async_sweep",
    "complete_attributes",
    "find_local_minima",
    "hebbian_weights",
    "hopfield_energy",
    "hopfield_energy_gap",
    "hinge_update",
    "kernel_pca",
    "kernel_ridge",
    "outlier_auc",
    "semi_supervised_head",
    "softmax_head_step",
    "top_k_rbf",
    "cf_predict",
    "discriminative_grad",
    "discriminative_probs",
    "group_word_probs",
    "node_embeddings",
    "softmax_visible_probs",
    "stack_dims",
    "topic_rbm_gradient",
    "unrolled_reconstruction",
    # bandits
    "annealed_epsilon",
    "epsilon_greedy_choice",
    "incremental_mean",
    "regret",
    "rps_arm_means",
    "ucb_scores",
    # dqn
    "cartpole_step",
    "dqn_loss",
    "epsilon_greedy_action",
    "polyak_update",
    "replay_insert",
    "td_target",
    # games
    "legal_moves",
    "minimax_value",
    "puct_scores",
    "table_credit",
    "visit_policy",
    "winner",
    # policy_gradient
    "fd_gradient",
    "gaussian_score",
    "reinforce_estimate",
    "returns_to_go",
    "rps_expected_payoff",
    "softmax_score",
    "with_baseline",
    # td_learning
    "bellman_values",
    "discounted_return",
    "n_step_td_target",
    "q_learning_update",
    "sarsa_update",
    "td0_update",
    # likelihood_margins
    "ensemble_network",
    "neighbourhood_step",
    "plsa_update",
    "stack_features",
    "ww_loss",
    # inside_cnns
    "ascent_step",
    "backward_by_rule",
    "greedy_caption",
    "guided_relu_backward",
    "lrn_loops",
    # modern_cnns
    "bottleneck_params",
    "class_subset",
    "conv1x1_dense",
    "dilated_receptive_field",
    "edge_response",
    "random_shift",
    "residual_block",
    # depth
    "collapse",
    "compose_tent",
    "count_pieces",
    "param_count",
    "staircase",
    "tent",
    "cooccurrence",
    "multinomial_mf_loss",
    "node2vec_weights",
    "outlier_scores",
    "transition_matrix",
    # conv_autoencoders
    "conv_transpose_scatter",
    "hybrid_predict",
    "overlap_count",
    "transposed_output_size",
    "unpool_switches",
    # tuning_compression
    "magnitude_prune",
    "preactivation_backprop",
    "quantize_uniform",
    "recurrence_jacobian",
    "sigmoid_vjp",
]
