"""course_lib: the pure-JAX library behind the deep-learning course notebooks.

One module per course concept:

- :mod:`course_lib.data`: keyed synthetic datasets with a planted answer, and the loader interface.
- :mod:`course_lib.activations`: activation functions and their hand-written derivatives.
- :mod:`course_lib.losses`: margin-based losses and softmax cross-entropy, with derivatives.
- :mod:`course_lib.perceptron`: the perceptron and margin-loss SGD as jitted, scanned epochs.
- :mod:`course_lib.linear_models`: least squares, Fisher, logistic regression, SVMs, multiclass.
- :mod:`course_lib.margin_classifiers`, :mod:`course_lib.hierarchical_softmax`: the pocket
  algorithm, logistic regression as maximum likelihood, the SVM's margin path; the tree softmax.
- :mod:`course_lib.autoencoders`: autoencoders as matrix factorization; recommender MF.
- :mod:`course_lib.word2vec` and :mod:`course_lib.graphs`: word and node embeddings.
- :mod:`course_lib.random_walks`, :mod:`course_lib.outliers`: DeepWalk and node2vec walks and
  their co-occurrence counts; outlier scores of points and features from a reconstruction.
- :mod:`course_lib.backprop`: computational graphs, path enumeration vs dynamic programming.
- :mod:`course_lib.mlp`, :mod:`course_lib.layers`: backpropagation by hand; layers as VJPs.
- :mod:`course_lib.depth`: parameter counts, linear collapse, sigmoid staircases, the tent map.
- :mod:`course_lib.gradcheck`: finite differences and the relative error of a gradient.
- :mod:`course_lib.optim`: optimizers with optax's contract, Newton, conjugate gradients.
- :mod:`course_lib.quasi_newton`, :mod:`course_lib.hessian_free`,
  :mod:`course_lib.coordinate_descent`: BFGS and L-BFGS; Hessian-vector products and
  Hessian-free Newton; coordinate descent.
- :mod:`course_lib.deepnets`: depth statistics, initialization, batch-normalized training.
- :mod:`course_lib.generalization`: minimum-norm least squares, polynomial fits with a traced
  degree, the Monte-Carlo bias–variance decomposition, learning curves, k-fold cross-validation.
- :mod:`course_lib.regularization`: weight decay, input noise = L2, L1 by subgradient and ISTA,
  hidden-unit L1, early stopping and its ridge equivalence.
- :mod:`course_lib.ensembles`, :mod:`course_lib.dropout`, :mod:`course_lib.pretraining`: bagging
  and subsampling, dropout and the exact sub-network ensemble, greedy layer-wise pretraining.
- :mod:`course_lib.regularized_autoencoders`, :mod:`course_lib.vae`: sparse (top-k), de-noising
  and contractive autoencoders, the linear DAE as shrunk PCA; the variational autoencoder.
- :mod:`course_lib.rbf`, :mod:`course_lib.kmeans`: radial basis function layers, bandwidth rules,
  the output layer three ways, orthogonal least squares, supervised prototypes; Lloyd's k-means.
- :mod:`course_lib.rbf_classifiers`, :mod:`course_lib.kernel_methods`: perceptron, hinge and
  logistic heads on RBF features; kernel interpolation, kernel ridge, kernel SVM and PCA.
- :mod:`course_lib.hopfield`: Hopfield networks: energy, Hebbian storage, recall, capacity.
- :mod:`course_lib.boltzmann`, :mod:`course_lib.rbm`: Boltzmann machines by exact enumeration and
  Gibbs sampling; restricted Boltzmann machines, contrastive divergence, persistent CD.
- :mod:`course_lib.collaborative_rbm`, :mod:`course_lib.deep_belief`: the softmax-visible RBM for
  ratings; stacked RBMs unrolled into autoencoders and fine-tuned.
- :mod:`course_lib.topic_rbm`: the replicated-softmax (topic-model) RBM, for documents and graphs.
- :mod:`course_lib.rnn`: RNNs with hand-written BPTT, echo-state networks, LSTM and GRU.
- :mod:`course_lib.rnn_architectures`: bidirectional and stacked RNNs, layer-normalized RNNs,
  a linear RNN as an autoregressive model.
- :mod:`course_lib.seq2seq`, :mod:`course_lib.sentence_classifier`: an encoder–decoder with
  teacher forcing; sentence-level classification.
- :mod:`course_lib.cnn`: convolution and its backward pass, pooling, a LeNet.
- :mod:`course_lib.resnet`, :mod:`course_lib.augmentation`, :mod:`course_lib.conv_variants`:
  plain and residual stacks, transfer; data augmentation; 1×1, inception, dilated and separable
  convolutions with their counts.
- :mod:`course_lib.transposed_conv`, :mod:`course_lib.hybrid_recommender`: transposed
  convolution, unpooling with switches, a convolutional autoencoder; a content-based hybrid
  recommender for cold-start images.
- :mod:`course_lib.cnn_visualization`: gradient, deconvnet and guided-backprop maps, activation
  maximization, local response normalization.
- :mod:`course_lib.tuning`, :mod:`course_lib.maxout`, :mod:`course_lib.compression`: grid and
  random hyperparameter search trained in one vmapped scan; maxout units; magnitude pruning and
  uniform quantization of a trained MLP.
- :mod:`course_lib.bandits`: multi-armed bandits (naive, ε-greedy, UCB) and regret over seeds.
- :mod:`course_lib.mdp`, :mod:`course_lib.td_learning`: finite MDPs with exact Bellman values;
  TD(0), Monte Carlo, TD(λ), n-step TD, tabular Q-learning and SARSA.
- :mod:`course_lib.cartpole`, :mod:`course_lib.dqn`: CartPole as pure JAX functions; a DQN with
  experience replay and a target network.
- :mod:`course_lib.policy_gradient`: score functions, REINFORCE with baselines, finite-difference
  policy gradients.
- :mod:`course_lib.tictactoe`, :mod:`course_lib.mcts`: tic-tac-toe solved by enumeration and
  minimax, the table method; Monte Carlo tree search.
- :mod:`course_lib.attention`, :mod:`course_lib.memory`: soft and hard attention, Luong's scores,
  an encoder–decoder with attention; the sorting game and content-addressed memory.
- :mod:`course_lib.transformer`, :mod:`course_lib.transformer_lm`: scaled dot-product and
  multi-head attention, positions, causal masks, layer norm; a character transformer.
- :mod:`course_lib.gan`, :mod:`course_lib.minimax`: GANs on toy data; gradient descent–ascent.
- :mod:`course_lib.competitive`, :mod:`course_lib.som`: competitive learning, vector
  quantization, online k-means; Kohonen self-organizing maps.
- :mod:`course_lib.plotting`: figures the notebooks share (matplotlib, never inside traced code).
- :mod:`course_lib.widgets`: ipywidgets demos whose callbacks are plain, testable functions.
- :mod:`course_lib.checks`: self-checks that exercise notebooks call with a student's function.
- :mod:`course_lib.tables`: small HTML/text tables for the notebooks.
- :mod:`course_lib.workspace`: the student's working copy ``work/``, refreshed from the course
  without overwriting their edits.

The instructor's tools live apart, in :mod:`course_lib.instructor`: the exercise generator
(``exercises``), the autograder (``grade``), its kernel-side harness (``harness``) and the
sandbox that each submission runs in (``sandbox``).

Notebooks import the modules they need (``from course_lib import perceptron``); nothing is
re-exported here so that every name has one home.

Importing ``course_lib`` sets one JAX option: float32 matrix products and convolutions at full
float32 precision (``jax_default_matmul_precision = "highest"``). JAX's default lets a recent
NVIDIA GPU compute them in TF32 (a 10-bit mantissa), which changes the numbers the notebooks
state, and on such a GPU some asserted claims no longer held. On a CPU, float32 products are
full precision either way, so nothing changes there (``tests/test_precision.py``). A value the
user chose first, with ``JAX_DEFAULT_MATMUL_PRECISION`` or ``jax.config.update``, is kept.
"""

import jax as _jax

__version__ = "0.1.0"

#: The float32 matrix-product precision the course's claims are computed with.
MATMUL_PRECISION = "highest"

if _jax.config.jax_default_matmul_precision is None:
    _jax.config.update("jax_default_matmul_precision", MATMUL_PRECISION)
