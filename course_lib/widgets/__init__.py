"""Interactive figures for the notebooks, one module per concept (as ``course_lib.checks``).

``demo`` holds the shared machinery (:class:`Demo`, :class:`LiveFigure`); each chapter's widgets
live in the module named after the concept they show (``widgets.perceptron``, ``widgets.optim``,
...). The names below are re-exported lazily, so ``from course_lib import widgets`` stays cheap
and ``widgets.margin_explorer(...)`` imports only the chapter it needs.
"""

from __future__ import annotations

import importlib
from typing import Any

#: public name -> the submodule that defines it
_EXPORTS: dict[str, str] = {
    "ChainResult": "activations",
    "CodeSizeResult": "autoencoders",
    "DigitView": "cnn",
    "GRADCHECK_CONFIGS": "gradcheck",
    "GradcheckResult": "gradcheck",
    "MarginRun": "perceptron",
    "MulticlassRun": "linear_models",
    "RaceResult": "optim",
    "SlideResult": "convolution",
    "TemperatureView": "language_model",
    "_NESTEROV": "optim",
    "_POWER_OF_TEN": "optim",
    "_SLIDE_MAX_F": "convolution",
    "_SLIDE_MAX_P": "convolution",
    "_gradcheck_point": "gradcheck",
    "_gradcheck_rho": "gradcheck",
    "_inspect_digit": "cnn",
    "_margin_run": "perceptron",
    "_race": "optim",
    "_slide_map": "convolution",
    "activation_explorer": "activations",
    "bagging_explorer": "ensembles",
    "ShiftResult": "modern_cnns",
    "SVMMarginResult": "margin_classifiers",
    "svm_margin_explorer": "margin_classifiers",
    "shift_explorer": "modern_cnns",
    "WalkResult": "random_walks",
    "node2vec_explorer": "random_walks",
    "OverlapResult": "conv_autoencoders",
    "upsampling_explorer": "conv_autoencoders",
    "LrnResult": "inside_cnns",
    "lrn_explorer": "inside_cnns",
    "CompressionResult": "tuning_compression",
    "compression_explorer": "tuning_compression",
    "CliffResult": "td_learning",
    "cliff_explorer": "td_learning",
    "bandit_explorer": "bandits",
    "bowl": "optim",
    "capacity_explorer": "generalization",
    "code_size_explorer": "autoencoders",
    "conv_slider": "convolution",
    "conv_slider_cache_size": "convolution",
    "decode_explorer": "seq2seq",
    "depth_explorer": "deepnets",
    "TentResult": "depth",
    "tent_explorer": "depth",
    "digit_inspector": "cnn",
    "draw_race": "optim",
    "gradcheck_cache_size": "gradcheck",
    "gradcheck_explorer": "gradcheck",
    "inspect_digit_cache_size": "cnn",
    "LatentResult": "regularized_autoencoders",
    "latent_explorer": "regularized_autoencoders",
    "margin_explorer": "perceptron",
    "margin_run_cache_size": "perceptron",
    "multiclass_explorer": "linear_models",
    "optimizer_race": "optim",
    "penalty_explorer": "regularization",
    "race_bowl": "optim",
    "race_cache_size": "optim",
    "SecondOrderRace": "second_order",
    "second_order_explorer": "second_order",
    "second_order_race": "second_order",
    "spectral_radius_explorer": "rnn",
    "gradient_flow_explorer": "rnn_architectures",
    "SOMPlayback": "som",
    "som_player": "som",
    "temperature_explorer": "language_model",
    "Demo": "demo",
    "AttentionPatterns": "transformer",
    "attention_pattern_explorer": "transformer",
    "gan_replay": "gan",
    "gda_explorer": "gan",
    "ReadResult": "attention",
    "content_read_explorer": "attention",
    "read_cache_size": "attention",
    "ridge_explorer": "rbf_kernels",
    "ridge_explorer_cache_size": "rbf_kernels",
    "GibbsChains": "rbm_applications",
    "gibbs_chains": "rbm_applications",
    "gibbs_explorer": "rbm_applications",
    "RBFFit": "rbf",
    "rbf_explorer": "rbf",
    "rbf_explorer_cache_size": "rbf",
    "equilibrium_explorer": "boltzmann",
    "gibbs_run": "boltzmann",
    "hopfield_recall_explorer": "hopfield",
    "mcts_explorer": "games",
    "reinforce_explorer": "policy_gradient",
    "PolicyView": "dqn",
    "q_policy_explorer": "dqn",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'course_lib.widgets' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"course_lib.widgets.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
