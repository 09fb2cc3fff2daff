"""Tests for course_lib.graphs: embeddings of a two-community graph."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from course_lib import data, graphs, word2vec

KEY = jax.random.key(0)


@pytest.fixture(scope="module")
def graph():
    return data.two_communities(key=KEY, n=40)


def test_degree_distribution(graph):
    q = np.asarray(graphs.degree_distribution(graph.A))
    deg = np.asarray(graph.A).sum(axis=0)
    np.testing.assert_allclose(q, deg / deg.sum())
    draws = word2vec.sample_negatives(jnp.asarray(q), (100_000,), key=KEY)
    emp = np.bincount(np.asarray(draws), minlength=40) / 100_000
    assert np.abs(emp - q).sum() / 2 < 0.02  # total variation


def test_link_auc_matches_sklearn(graph):
    S = jax.random.normal(KEY, (40, 40))
    iu = np.triu_indices(40, 1)
    ref = roc_auc_score(np.asarray(graph.A)[iu], np.asarray(S + S.T)[iu])
    np.testing.assert_allclose(graphs.link_auc(S, graph.A), ref, rtol=1e-12)
    ties = jnp.round(S)  # many tied scores
    ref = roc_auc_score(np.asarray(graph.A)[iu], np.asarray(ties + ties.T)[iu])
    np.testing.assert_allclose(graphs.link_auc(ties, graph.A), ref, rtol=1e-12)


@pytest.mark.parametrize("method", ["logistic", "sgns"])
def test_embedding_separates_communities_and_predicts_links(graph, method):
    if method == "logistic":
        emb, losses = graphs.logistic_embedding(graph.A, key=KEY, dim=2)
    else:
        emb, losses = graphs.sgns_embedding(graph.A, key=KEY, dim=2)
    assert float(losses[-50:].mean()) < float(losses[:50].mean())
    split = graphs.split_by_first_component(graphs.node_vectors(emb))
    assert graphs.agreement(split, graph.community) >= 0.95
    assert graphs.link_auc(graphs.link_probabilities(emb), graph.A) > 0.8


def test_two_communities_is_a_planted_block_model(graph):
    A = np.asarray(graph.A)
    np.testing.assert_array_equal(A, A.T)
    assert np.all(np.diag(A) == 0) and set(np.unique(A)) <= {0.0, 1.0}
    same = np.equal.outer(np.asarray(graph.community), np.asarray(graph.community))
    off = ~np.eye(40, dtype=bool)
    assert A[same & off].mean() > 5 * A[~same].mean()


def test_agreement_is_up_to_relabelling():
    assert graphs.agreement(jnp.array([0, 0, 1, 1]), jnp.array([1, 1, 0, 0])) == 1.0
    assert graphs.agreement(jnp.array([0, 1, 1, 1]), jnp.array([0, 0, 1, 1])) == 0.75
    with pytest.raises(ValueError, match="same shape"):
        graphs.agreement(jnp.array([0, 1]), jnp.array([0, 1, 1]))


def test_errors():
    with pytest.raises(ValueError, match="`A` must be a square adjacency matrix"):
        graphs.degree_distribution(jnp.ones((3, 4)))
    with pytest.raises(ValueError, match="`A` has no edge"):
        graphs.sgns_embedding(jnp.zeros((4, 4)), key=KEY)
    with pytest.raises(ValueError, match="non-negative"):
        graphs.logistic_embedding(-jnp.ones((4, 4)), key=KEY)
    with pytest.raises(ValueError, match="at least one edge and one non-edge"):
        graphs.link_auc(jnp.ones((3, 3)), jnp.zeros((3, 3)))
