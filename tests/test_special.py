"""remedy.special (numpy special functions for the CLV models) against scipy.special, which
stays a dependency of remedy (the planner's MILP) but is no longer imported by `remedy clv`."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special as sp

from remedy import special


def arguments() -> np.ndarray:
    rng = np.random.default_rng(0)
    return np.concatenate(
        [10 ** rng.uniform(-8, 8, 4000), np.linspace(0.01, 30, 3000), np.arange(1.0, 200.0)]
    )


def test_log_gamma_digamma_trigamma_match_scipy() -> None:
    x = arguments()
    # Absolute near the zeros of ln G (1, 2) and psi (1.46), relative elsewhere.
    np.testing.assert_allclose(special.gammaln(x), sp.gammaln(x), rtol=1e-13, atol=2e-14)
    np.testing.assert_allclose(special.digamma(x), sp.digamma(x), rtol=1e-13, atol=2e-14)
    np.testing.assert_allclose(special.trigamma(x), sp.polygamma(1, x), rtol=1e-13)
    assert np.isnan(special.gammaln(np.array([0.0, -1.0]))).all()


@pytest.mark.parametrize("integer", [True, False])
def test_differences_are_exact_where_subtracting_loses_digits(integer: bool) -> None:
    """ln G(z+n) - ln G(z) and the digamma and trigamma differences agree with scipy where
    scipy's own subtraction is accurate, and keep their digits where it is not (large z)."""
    rng = np.random.default_rng(1)
    z = 10 ** rng.uniform(-4, 3, 3000)
    n = np.floor(10 ** rng.uniform(0, 3, 3000)) if integer else 10 ** rng.uniform(-3, 3, 3000)
    np.testing.assert_allclose(
        special.log_pochhammer(z, n), sp.gammaln(z + n) - sp.gammaln(z), rtol=1e-10, atol=1e-11
    )
    np.testing.assert_allclose(
        special.digamma_difference(z, n), sp.digamma(z + n) - sp.digamma(z), rtol=1e-9, atol=1e-12
    )
    np.testing.assert_allclose(
        special.trigamma_difference(z, n),
        sp.polygamma(1, z + n) - sp.polygamma(1, z),
        rtol=1e-8,
        atol=1e-14,
    )
    # z = 1e6, n = 3: ln((z)(z+1)(z+2)) exactly, where two log-gammas of 1.28e7 cancel.
    big = 1e6
    exact = 3 * np.log(big) + np.log1p(1 / big) + np.log1p(2 / big)
    assert special.log_pochhammer(big, 3.0) == pytest.approx(exact, rel=1e-15)
    assert special.digamma_difference(big, 3.0) == pytest.approx(
        1 / big + 1 / (big + 1) + 1 / (big + 2), rel=1e-14
    )


def test_expit_never_overflows() -> None:
    x = np.linspace(-800, 800, 10001)
    np.testing.assert_allclose(special.expit(x), sp.expit(x), rtol=1e-15, atol=1e-300)
    assert special.expit(np.array([-np.inf, np.inf])).tolist() == [0.0, 1.0]


@pytest.mark.parametrize(
    ("a", "b"), [(0.79, 2.4), (0.001, 1000.0), (1e4, 3e4), (0.5, 0.5), (0.4, 0.6), (3.0, 1e-3)]
)
def test_beta_gauss_rule_integrates_polynomials_exactly(a: float, b: float) -> None:
    n = 12
    nodes, weights = special.beta_gauss_rule(a, b, n)
    assert weights.sum() == pytest.approx(1.0, rel=1e-14)
    assert (nodes > 0).all() and (nodes < 1).all()
    # An n-point Gauss rule is exact for degree 2n - 1: E[p^k] = prod (a+j) / (a+b+j).
    for k in range(1, 2 * n):
        exact = np.prod([(a + j) / (a + b + j) for j in range(k)])
        assert float(np.sum(weights * nodes**k)) == pytest.approx(exact, rel=1e-11)
