"""KCG's deviation families for the lemma-level claims (``invariants._internal.power``; the theorem-level
families are in ``invariants.kcg.power``).

Each family plants a near miss of size eps into a real in-regime reference and asks the real check (the
decorator keeps only the results of its result ID).  References, all at the horizon asked for:

* ``leaky_reference``, ``relu_reference`` (p > 0) and ``relu_orthogonal_reference`` of ``kcg.power``; the
  leaky one is also inside the appendix's (B.2) init bound (sigma0 at 2% of Thm 4.1's bound), which
  KCG-5.7 and KCG-C12 need, and its first checkpoints are the consecutive steps 0..9 KCG-5.2:update needs.
* ``leaky_recorded_reference``: the same leaky configuration on a concrete X (``sim.realize``, same Gram
  matrix), its weights W(t) = W(0) + Z X re-read as a run recorded from outside
  (``Trajectory.from_weights``: rho from a least-squares projection, with its rounding bound).  Used by
  KCG-5.2:sign only: on a simulated run that check's tolerance is 0 (the engine's state is a same-sign
  sum), so it detects a wrong-sign entry of *any* size and has no edge to measure (the grid's floor, 1e-16,
  would be detected too); on a recorded run its tolerance is the projection's rounding, a real edge.
* sequences of the recursion x_{t+1} = x_t + c_t e^{-x_t} (``sequences.exp_recursion``) with c_t drawn in
  the lemma's hypothesis, of length = the horizon (KCG-5.3, H1, H2), and H.4's (b, grid of t).
* 200 initializations (seeds 1..200) of the leaky reference's configuration (A.1: n = 6, m = 8, d = 1000)
  and of a ReLU configuration inside A.2's width condition (n = 6, m = 240 >= 50 log(2n/delta)), judged
  by the per-draw checks and the binomial test (``initialization.binomial_claim``), as
  ``probability_check`` does; the draws do not depend on the horizon.

Kinds.  Exact identities with a float64 tolerance (5.2:update, 5.2:monotone, 5.2:sign on the recorded run,
5.7, F2:equal) get one entry of rho perturbed by a relative eps (kind ``exact``); 5.7's and F2:equal's
tolerances are accumulated over t (``accumulated_bound``), so the entry is perturbed at the last checkpoint,
where the check is weakest, and their edge grows linearly with the horizon.  The claims whose check is a sign
test with tolerance 0 on every entry (KCG-5.8; KCG-F2:dead and :active) detect a crossing of any depth, so a
relative eps has no edge there either; what they read exactly is the every-step activation record, so their
family plants switches into it (kind ``pattern``: one switch must be caught), as KCG-F2:pattern's does (late
changes).  Growth claims get a growth planted along t (kind ``rate``, the exponent off by eps): log^{1+eps} t
for the Theta(log t) quantities (KCG-4.1a's norms, KCG-5.5's on-class coefficients), and an implied constant
drifting like t^{+-eps} for the claims that it stays bounded (KCG-4.3a's stable rank, the balance ratios of B1
and B4, E3's off-class ratio).  (A drift of only (log t)^eps is caught late or not at all there, the declared
constants sitting 2 to 130 times from the reference's implied ones: B1 and B4 from eps ~ 0.7, E3 not even at
eps = 1.)  KCG-C12 (a bounded within-class spread) gets one neuron growing at (1 + eps) times its class's rate
(kind ``spread``), KCG-F2:rate the slope m/|S_i(0)| off by a factor 1 + eps.  Pure-math lemmas get a sequence
exceeding the bound by a fraction eps (kind ``bound``); Lemma H.4's check takes (a, b, t) and builds f itself,
so its family crosses the lemma's assumption b > a by a relative eps, the only way a true lemma's conclusion
can fail.  The probabilistic lemmas get the law's parameter off by a factor 1 + eps (kind ``law``): sigma0 for
A.1 (draws scaled by 1 + eps, judged against the nominal sigma0: with the same seeds this is exactly a draw at
sigma0 (1 + eps)); for A.2, whose event is invariant under sigma0, the activation probability P(<w_{y_i,r}(0),
x_i> > 0) = 1/2 moved to (1 + eps)/2 (every class pre-activation on its class's points shifted by z sigma0
||x_i||, Phi(z) = (1 + eps)/2).

Found while building these: KCG-F2's check (and its regime) ask p == 0 exactly, so orthogonal data whose
realized Gram matrix carries rounding (``sim.realize``'s random rotation: p = 1.3e-13 here) come back
``too_short`` ("data not orthogonal"); F2 judges virtual data and exactly orthogonal X (such as
[chol(G), 0], which ``tests/kcg/test_dense_identities.py`` uses) only.

Nothing skipped: every result ID asked for takes a planted input.  KCG-5.2:reconstruct (not asked) is
judged only on recorded runs.
"""

from __future__ import annotations

import dataclasses
import math
from functools import lru_cache

import numpy as np
from scipy import stats

from sim import Dataset, Init, SimConfig, Trajectory, realize, simulate

from .._internal.limit import limit_direction
from .._internal.power import deviation
from .balance import (
    a2_width,
    check_leaky_balance,
    check_leaky_balance_neuron,
    check_leaky_balance_neuron_gamma1,
    check_offclass,
    check_relu_balance,
    check_relu_balance_printed,
)
from .decomposition import (
    check_equal_increments,
    check_monotone,
    check_reconstruction,
    check_sign_structure,
    check_update_rule,
    check_within_class_spread,
)
from .growth import check_neuron_norm_growth
from .initialization import (
    DECLARED,
    binomial_claim,
    check_init_activation_counts,
    check_init_correlations,
    check_init_norms,
    draw_inits,
)
from .limits import check_relu_stable_rank_at_limit
from .pattern import check_orthogonal_relu_pattern, check_relu_class_neurons_stay_active, class_sign, own_block
from .power import _log_power, leaky_reference, relu_orthogonal_reference, relu_reference, with_stable_rank
from .regime import KCG_CONSTANTS, Placement, build_case
from .sequences import (
    check_lemma_5_3,
    check_lemma_h1,
    check_lemma_h2,
    check_lemma_h4,
    exp_recursion,
    realized_constants,
)
from .stable_rank import C_SR_RELU, check_relu_stable_rank_bound

# ---- references --------------------------------------------------------------------------------


@lru_cache(maxsize=4)
def leaky_recorded_reference(steps: int) -> Trajectory:
    """``leaky_reference``'s configuration on a concrete X with the same Gram matrix, recorded from its
    weights (``Trajectory.from_weights``; the every-step change record passed through)."""
    case = build_case("leaky_relu", 6, 8, 0.3, d=1000, R=1.2, seed=1, steps=steps, checkpoints=60,
                      place=Placement(p=0.5, eta=0.5, sigma0=0.02, width=0.5))
    X = realize(case.data.G, case.data.d, np.random.default_rng(1))
    data = Dataset.from_X(X, case.data.y)
    tr = simulate(case.cfg, data=data)
    W = np.stack([tr.weights(k) for k in range(len(tr.times))])
    cfg = case.cfg
    return Trajectory.from_weights(tr.times, W, X, data.y, activation=cfg.activation, gamma=cfg.gamma,
                                   eta=cfg.eta, sigma0=cfg.sigma0, changes=(tr.changes_flat, tr.last_change_flat),
                                   n_changes=tr.n_changes)


@lru_cache(maxsize=4)
def _recorded_weights(steps: int) -> tuple[Trajectory, np.ndarray]:
    """``leaky_recorded_reference`` and its weights (T, M, d), for plantings that go through the recorder."""
    tr = leaky_recorded_reference(steps)
    return tr, np.stack([tr.weights(k) for k in range(len(tr.times))])


@deviation("KCG-5.2:reconstruct", "recorded run: W(t) - W(0) given a component off the span of the x_i of relative "
           "size eps (as weight decay or another optimizer would), rebuilt through Trajectory.from_weights",
           "exact", leaky_recorded_reference)
def _off_span(tr: Trajectory, eps: float) -> object:
    ref, W = _recorded_weights(int(tr.times[-1]))
    X = ref.data.X
    rng = np.random.default_rng(0)
    u = rng.standard_normal(W.shape[1:])
    u -= (u @ np.linalg.pinv(X)) @ X  # off the span of the x_i
    u /= np.linalg.norm(u)
    D = W - W[0][None]
    Wp = W + eps * np.linalg.norm(D, axis=(1, 2))[:, None, None] * u[None]
    cfg = ref.config
    bad = Trajectory.from_weights(ref.times, Wp, X, ref.data.y, activation=cfg.activation, gamma=cfg.gamma,
                                  eta=cfg.eta, sigma0=cfg.sigma0, changes=(ref.changes_flat, ref.last_change_flat),
                                  n_changes=ref.n_changes)
    return check_reconstruction(bad)


@deviation("KCG-4.3a:limit", "SR(W*_j) at the limit direction above the declared c by a fraction eps (through the "
           "check's constant: c = SR(W*) / (1 + eps))", "bound", relu_orthogonal_reference)
def _relu_sr_limit(tr: Trajectory, eps: float) -> object:
    sr = float(limit_direction(tr).stable_rank[:2].max())
    return check_relu_stable_rank_at_limit(tr, c=sr / (1.0 + eps) if eps > 0 else C_SR_RELU)


def _times(tr: Trajectory) -> np.ndarray:
    return np.maximum(tr.times.astype(float), 1.0)


def _with_rho(tr: Trajectory, rho: np.ndarray) -> Trajectory:
    """A copy with rho (T, 2, m, n) replaced (nothing else recomputed: the check sees the planted rho)."""
    return dataclasses.replace(tr, rho_flat=rho.reshape(tr.rho_flat.shape))


def _own_mask(tr: Trajectory) -> np.ndarray:
    """(2, m, n) boolean: the entries of j = y_i."""
    return np.broadcast_to(class_sign(tr) > 0, tr.rho.shape[1:])


def _own_entry(tr: Trajectory, i: int, r: int = 0) -> tuple[int, int, int]:
    """(j index, r, i) of rho_{y_i, r, i}."""
    return int(own_block(tr)[i]), r, i


def _laggard(tr: Trajectory) -> int:
    """The point whose on-class coefficients sum to the least at the last checkpoint."""
    rho = tr.rho[-1]
    b = own_block(tr)
    return int(np.argmin([rho[b[i], :, i].sum() for i in range(tr.data.n)]))


def _with_changes(tr: Trajectory, mask: np.ndarray, k: int, switches: int = 2) -> Trajectory:
    """A copy whose every-step record shows ``switches`` changes (the last at the horizon) on the first k
    entries of ``mask`` (2, m, n) (flat order)."""
    changes, last = tr.changes_flat.copy(), tr.last_change_flat.copy()
    idx = np.flatnonzero(mask.reshape(-1))[:k]
    changes.reshape(-1)[idx] += switches
    last.reshape(-1)[idx] = int(tr.times[-1])
    return dataclasses.replace(tr, changes_flat=changes, last_change_flat=last)


# ---- Theta(log t) growth turned into log^{1+eps} t (KCG-4.1a, 5.5); a bounded SR grown by t^eps (4.3a) ----


@deviation("KCG-4.1a", "neuron norms ||w_{j,r}(t)|| x (log t)^eps: growth log^{1+eps} t instead of log t",
           "rate", leaky_reference)
def _norm_growth(tr: Trajectory, eps: float) -> object:
    return check_neuron_norm_growth(
        dataclasses.replace(tr, norms2_flat=tr.norms2_flat * _log_power(tr, 2 * eps)[:, None]))


@deviation("KCG-4.3a", "SR_j(t) x t^eps: the implied c grows like t^eps (limsup infinite)", "rate", relu_reference)
def _relu_sr_bound(tr: Trajectory, eps: float) -> object:
    return check_relu_stable_rank_bound(with_stable_rank(tr, tr.stable_rank * _times(tr)[:, None] ** eps))


@deviation("KCG-5.5", "on-class rho_{y_i,r,i}(t) x (log t)^eps: growth log^{1+eps} t instead of log t", "rate",
           relu_reference)
def _relu_balance(tr: Trajectory, eps: float) -> object:
    f = np.where(_own_mask(tr)[None], _log_power(tr, eps)[:, None, None, None], 1.0)
    return check_relu_balance(_with_rho(tr, tr.rho * f))


@lru_cache(maxsize=4)
def relu_a2_reference(steps: int) -> Trajectory:
    """A ReLU run of Lemma A.2's width (n = 4, m = 50 log(2n/delta) = 220), otherwise as ``relu_reference``."""
    return build_case("relu", 4, a2_width(4), None, d=1000, R=1.2, seed=1, steps=steps, checkpoints=60,
                      place=Placement(p=0.5, eta=0.5, sigma0=0.02, width=0.5)).run()


@deviation("KCG-5.5:printed", "on-class rho_{y_i,r,i}(t) x (log t)^eps at Lemma A.2's width: growth log^{1+eps} t",
           "rate", relu_a2_reference)
def _relu_balance_printed(tr: Trajectory, eps: float) -> object:
    f = np.where(_own_mask(tr)[None], _log_power(tr, eps)[:, None, None, None], 1.0)
    return check_relu_balance_printed(_with_rho(tr, tr.rho * f))


# ---- KCG-B1, B4, E3: the balance eroding like t^-eps; KCG-C12: one neuron's rate off -------------


def _laggard_factor(tr: Trajectory, eps: float) -> np.ndarray:
    """(T, 2, m, n) factor t^{-eps} on the least-balanced point's on-class coefficients, 1 elsewhere."""
    i = _laggard(tr)
    mask = np.zeros(tr.rho.shape[1:], dtype=bool)
    mask[own_block(tr)[i], :, i] = True
    return np.where(mask[None], _times(tr)[:, None, None, None] ** -eps, 1.0)


@deviation("KCG-B1", "the least-balanced point's on-class rho_{y_i,r,i}(t) x t^-eps: balance eroding like "
           "t^-eps", "rate", leaky_reference)
def _leaky_balance(tr: Trajectory, eps: float) -> object:
    return check_leaky_balance(_with_rho(tr, tr.rho * _laggard_factor(tr, eps)))


@deviation("KCG-B4", "the least-balanced point's on-class rho_{y_i,r,i}(t) x t^-eps: balance eroding like "
           "t^-eps", "rate", leaky_reference)
def _leaky_balance_neuron(tr: Trajectory, eps: float) -> object:
    return check_leaky_balance_neuron(_with_rho(tr, tr.rho * _laggard_factor(tr, eps)))


@deviation("KCG-B4:gamma1", "the least-balanced point's on-class rho_{y_i,r,i}(t) x t^-eps: balance eroding like "
           "t^-eps", "rate", leaky_reference)
def _leaky_balance_neuron_gamma1(tr: Trajectory, eps: float) -> object:
    return check_leaky_balance_neuron_gamma1(_with_rho(tr, tr.rho * _laggard_factor(tr, eps)))


@deviation("KCG-E3", "off-class rho_{-y_i,r,i}(t) x t^eps: off-class outgrowing on-class like t^eps", "rate",
           relu_reference)
def _offclass(tr: Trajectory, eps: float) -> object:
    f = np.where(_own_mask(tr)[None], 1.0, _times(tr)[:, None, None, None] ** eps)
    return check_offclass(_with_rho(tr, tr.rho * f))


@deviation("KCG-C12", "one neuron's on-class rho_{y_i,r,i}(t) x (1 + eps): its rate off by eps, spread eps rho(t)",
           "spread", leaky_reference)
def _spread(tr: Trajectory, eps: float) -> object:
    rho = tr.rho.copy()
    rho[(slice(None), *_own_entry(tr, _laggard(tr)))] *= 1 + eps
    return check_within_class_spread(_with_rho(tr, rho))


# ---- exact identities: one entry of rho off by a relative eps -----------------------------------


def _largest(a: np.ndarray, mask: np.ndarray | None = None) -> tuple[int, ...]:
    """Index of the largest |a| (within ``mask``)."""
    v = np.abs(a) if mask is None else np.where(mask, np.abs(a), -np.inf)
    return tuple(int(x) for x in np.unravel_index(int(np.argmax(v)), v.shape))


@deviation("KCG-5.2:update", "rho(t+1) x (1 + eps) in one entry (the largest) of the last recorded step pair",
           "exact", leaky_reference)
def _update(tr: Trajectory, eps: float) -> object:
    k = int(np.flatnonzero(np.diff(tr.times) == 1)[-1]) + 1
    rho = tr.rho.copy()
    rho[(k, *_largest(rho[k]))] *= 1 + eps
    return check_update_rule(_with_rho(tr, rho))


@deviation("KCG-5.2:monotone", "one rho_bar entry (the largest) moves back by a relative eps between the last "
           "two checkpoints: rho(t_K) = (1 - eps) rho(t_{K-1})", "exact", leaky_reference)
def _monotone(tr: Trajectory, eps: float) -> object:
    rho = tr.rho.copy()
    e = _largest(rho[-2], _own_mask(tr))
    rho[(-1, *e)] = rho[(-2, *e)] * (1 - eps)
    return check_monotone(_with_rho(tr, rho))


@deviation("KCG-5.2:sign", "recorded run: one off-class rho_{-y_i,r,i}(T) (<= 0) set to +eps max|rho(T)| (a "
           "wrong-sign entry of relative size eps)", "exact", leaky_recorded_reference)
def _sign(tr: Trajectory, eps: float) -> object:
    rho = tr.rho.copy()
    rho[(-1, 1 - int(own_block(tr)[0]), 0, 0)] = eps * float(np.abs(rho[-1]).max())
    return check_sign_structure(_with_rho(tr, rho))


@deviation("KCG-5.7", "one on-class rho_{y_i,r,i}(T) x (1 + eps) at the last checkpoint", "exact",
           leaky_reference)
def _equal_increments(tr: Trajectory, eps: float) -> object:
    rho = tr.rho.copy()
    rho[(-1, *_own_entry(tr, 0))] *= 1 + eps
    return check_equal_increments(_with_rho(tr, rho))


def _f2(tr: Trajectory) -> list:
    return check_orthogonal_relu_pattern(tr)


@deviation("KCG-F2:equal", "one rho_bar_{y_i,r,i}(T), r in S_i(0) (|S_i(0)| >= 2), x (1 + eps) at the last "
           "checkpoint", "exact", relu_orthogonal_reference)
def _f2_equal(tr: Trajectory, eps: float) -> object:
    P0, b = tr.preact[0], own_block(tr)
    S = np.stack([P0[b[i], :, i] > 0 for i in range(tr.data.n)], axis=1)  # (m, n)
    i = int(np.flatnonzero(S.sum(axis=0) >= 2)[0])
    rho = tr.rho.copy()
    rho[(-1, *_own_entry(tr, i, int(np.flatnonzero(S[:, i])[0])))] *= 1 + eps
    return _f2(_with_rho(tr, rho))


@deviation("KCG-F2:rate", "rho_bar_{y_i,r,i}(t) x (1 + eps) on every class-active entry: the slope m/|S_i(0)| "
           "off by a factor 1 + eps", "rate", relu_orthogonal_reference)
def _f2_rate(tr: Trajectory, eps: float) -> object:
    act = _own_mask(tr) & (tr.preact[0] >= 0)
    return _f2(_with_rho(tr, tr.rho * np.where(act[None], 1 + eps, 1.0)))


# ---- activation records: switches planted into the exact every-step record ------------------------


@deviation("KCG-F2:pattern", "eps activation changes planted at the last step (after T)", "pattern",
           relu_orthogonal_reference)
def _f2_pattern(tr: Trajectory, eps: float) -> object:
    return _f2(_with_changes(tr, np.ones(tr.rho.shape[1:], dtype=bool), round(eps), switches=1))


@deviation("KCG-F2:dead", "eps dead entries (P(0) < 0) switched on and off again (every-step record)", "pattern",
           relu_orthogonal_reference)
def _f2_dead(tr: Trajectory, eps: float) -> object:
    return _f2(_with_changes(tr, tr.preact[0] < 0, round(eps)))


@deviation("KCG-F2:active", "eps class-active entries (j = y_i, P(0) >= 0) switched off and on again "
           "(every-step record)", "pattern", relu_orthogonal_reference)
def _f2_active(tr: Trajectory, eps: float) -> object:
    return _f2(_with_changes(tr, _own_mask(tr) & (tr.preact[0] >= 0), round(eps)))


@deviation("KCG-5.8", "eps neurons of S_i(0) switched off and on again (every-step record)", "pattern",
           relu_reference)
def _stay_active(tr: Trajectory, eps: float) -> object:
    return check_relu_class_neurons_stay_active(_with_changes(tr, _own_mask(tr) & (tr.preact[0] > 0), round(eps)))


# ---- pure-math lemmas: a sequence past the bound by a fraction eps ---------------------------------


def _recursion(steps: int, x0: float, lo: float, hi: float, floor: float | None = None) -> np.ndarray:
    """x_{t+1} = x_t + c_t e^{-x_t}, c_t uniform in [lo, hi] (seed 1), ``steps`` steps."""
    c = np.random.default_rng(1).uniform(lo, hi, size=steps)
    return exp_recursion(x0, c, floor)


@lru_cache(maxsize=4)
def lemma53_reference(steps: int) -> tuple[np.ndarray, float, float]:
    """(x, C1, C2): c_t in [C1, C2] = [0.5, 2] (C1, C2 widened to the realized constants' rounding)."""
    x = _recursion(steps, 1.0, 0.5, 2.0)
    c = realized_constants(x)
    return x, min(0.5, float(c.min())), max(2.0, float(c.max()))


@lru_cache(maxsize=4)
def h1_reference(steps: int) -> tuple[np.ndarray, float]:
    """(x, C): c_t in [-1, C], C = 1.5, x clamped at 0."""
    x = _recursion(steps, 0.5, -1.0, 1.5, floor=0.0)
    return x, max(1.5, float(np.nanmax(realized_constants(x))))


@lru_cache(maxsize=4)
def h2_reference(steps: int) -> tuple[np.ndarray, float]:
    """(x, C): c_t in [C, 3C], C = 1."""
    x = _recursion(steps, 0.5, 1.0, 3.0)
    return x, min(1.0, float(realized_constants(x).min()))


def _bound_at_end(x: np.ndarray, K: float) -> float:
    """log(e^{x_0} + K T) at the last index T."""
    return float(np.logaddexp(x[0], math.log(K) + math.log(x.size - 1)))


def _past_end(x: np.ndarray, K: float, eps: float) -> np.ndarray:
    """x with its last value replaced by (1 + eps) log(e^{x_0} + K T) (eps < 0: below it)."""
    y = x.copy()
    y[-1] = (1 + eps) * _bound_at_end(x, K)
    return y


@deviation("KCG-5.3", "x_T replaced by (1 + eps) log(e^{x_0} + C2 e^{C2} T): the upper bound exceeded by a "
           "fraction eps", "bound", lemma53_reference)
def _lemma53(ref: tuple[np.ndarray, float, float], eps: float) -> object:
    x, C1, C2 = ref
    return check_lemma_5_3(_past_end(x, C2 * math.exp(C2), eps), C1, C2)


@deviation("KCG-H1", "x_T replaced by (1 + eps) log(e^{x_0} + C e^C T): the bound exceeded by a fraction eps",
           "bound", h1_reference)
def _lemma_h1(ref: tuple[np.ndarray, float], eps: float) -> object:
    x, C = ref
    return check_lemma_h1(_past_end(x, C * math.exp(C), eps), C)


@deviation("KCG-H2", "x_T replaced by (1 - eps) log(e^{x_0} + C T): the lower bound undercut by a fraction eps",
           "bound", h2_reference)
def _lemma_h2(ref: tuple[np.ndarray, float], eps: float) -> object:
    x, C = ref
    return check_lemma_h2(_past_end(x, C, -eps), C)


@lru_cache(maxsize=4)
def h4_reference(steps: int) -> tuple[float, np.ndarray]:
    """(b, grid): b = 1, 200 log-spaced t in [1e-3, steps]."""
    return 1.0, np.geomspace(1e-3, float(steps), 200)


@deviation("KCG-H4", "a = b (1 + eps): the assumption b > a missed by a relative eps, f = log(1+at)/log(1+bt) "
           "then decreases by ~eps", "bound", h4_reference)
def _lemma_h4(ref: tuple[float, np.ndarray], eps: float) -> object:
    b, t = ref
    return check_lemma_h4(b * (1 + eps), b, t)


# ---- probabilistic lemmas: the law's parameter off by a factor 1 + eps ----------------------------

N_DRAWS = 200


@dataclasses.dataclass(frozen=True)
class InitReference:
    cfg: SimConfig
    data: Dataset
    draws: tuple[tuple[int, Init], ...]


@lru_cache(maxsize=2)
def a1_reference(steps: int) -> InitReference:
    """N_DRAWS initializations of ``leaky_reference``'s configuration (n = 6, m = 8, d = 1000)."""
    case = build_case("leaky_relu", 6, 8, 0.3, d=1000, R=1.2, seed=1, steps=0,
                      place=Placement(p=0.5, eta=0.5, sigma0=0.02, width=0.5))
    return InitReference(case.cfg, case.data, tuple(draw_inits(case.cfg, case.data, N_DRAWS)))


@lru_cache(maxsize=2)
def a2_reference(steps: int) -> InitReference:
    """N_DRAWS initializations of a ReLU configuration inside A.2's m >= 50 log(2n/delta) (n = 6, m = 240)."""
    n, delta = 6, KCG_CONSTANTS.delta
    m = math.ceil(DECLARED["C_width_A2"] * math.log(2 * n / delta))
    case = build_case("relu", n, m, None, d=1000, R=1.2, seed=1, steps=0,
                      place=Placement(p=0.5, eta=0.5, sigma0=0.5, width=0.5))
    return InitReference(case.cfg, case.data, tuple(draw_inits(case.cfg, case.data, N_DRAWS)))


def _scaled(init: Init, s: float) -> Init:
    """W(0) x s: the draw at sigma0 s with the same seed."""
    return Init(P0=init.P0 * s, K0=init.K0 * s**2, W0=None if init.W0 is None else init.W0 * s)


def _law(ref: InitReference, check: object, inits: list[Init]) -> object:
    draws = [(s, check(ref.cfg, ref.data, init)) for (s, _), init in zip(ref.draws, inits, strict=True)]
    return binomial_claim(draws, KCG_CONSTANTS.delta, DECLARED["level"])


@deviation("KCG-A1a", "W(0) drawn at sigma0 (1 + eps), judged against sigma0 (200 draws, n = 6, m = 8, d = 1000)",
           "law", a1_reference)
def _a1a(ref: InitReference, eps: float) -> object:
    return _law(ref, check_init_norms, [_scaled(i, 1 + eps) for _, i in ref.draws])


@deviation("KCG-A1b", "W(0) drawn at sigma0 (1 + eps), judged against sigma0 (200 draws, n = 6, m = 8, d = 1000)",
           "law", a1_reference)
def _a1b(ref: InitReference, eps: float) -> object:
    return _law(ref, check_init_correlations, [_scaled(i, 1 + eps) for _, i in ref.draws])


@deviation("KCG-A2", "P(<w_{y_i,r}(0), x_i> > 0) = (1 + eps)/2 instead of 1/2 (class pre-activations shifted by "
           "z sigma0 ||x_i||; 200 draws, n = 6, m = 240)", "law", a2_reference)
def _a2(ref: InitReference, eps: float) -> object:
    cfg, data = ref.cfg, ref.data
    z = float(stats.norm.ppf(min((1 + eps) / 2, 1 - 1e-16)))
    m = cfg.m
    shift = np.zeros((2, m, data.n))
    own = np.where(data.y > 0, 0, 1)  # the block j = y_i
    shift[own, :, np.arange(data.n)] = z * cfg.sigma0 * np.sqrt(data.norms2)[:, None]
    inits = [dataclasses.replace(i, P0=i.P0 + shift.reshape(i.P0.shape)) for _, i in ref.draws]
    return _law(ref, check_init_activation_counts, inits)
