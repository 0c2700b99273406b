"""Sun & Tran (talk, 2023; ``seeds/004``): conjectures about two-layer ReLU networks WITH biases trained by
gradient flow on nearly-orthogonal data, and their synthetic stable-rank figure.  Measured, never asserted.

Network (the suite's choice; the slides write f(x; W) = sum_{i=1}^m a_i phi(<x, w_i> + b_i) and leave a_i
unspecified): FVB's parameterization, m neurons in total, m1 = m2 = m/2, a_i = +-1/sqrt(m) fixed, phi = ReLU,
exponentially-tailed loss (logistic by default).  Why: the slides' KKT equations w_j = a_j sum_i lambda_i
y_i phi'_{i,j} x_i and b_j = a_j sum_i lambda_i y_i phi'_{i,j} treat a as fixed, they count m neurons in
total ("Number of neurons is m = 100"), and they follow Vardi et al. (2022) and FVB, whose second layer is
+-1/sqrt(m).  Another fixed scale a = +-c changes nothing but the time scale and the init scale (f is
1-homogeneous in (w, b): GD on a = +-c with step eta and init sigma0 is GD on +-1 with step eta c^2 and
init c sigma0, up to W -> W/c), so the KKT directions are the same.

Biases by an appended coordinate (exact): phi(<w, x> + b) = phi(<(w, b), (x, 1)>), so the network with
biases on x_i in R^d is the bias-free network on x~_i = (x_i, 1) in R^{d+1}, whose Gram matrix is
G~ = G + 1 1^T.  The simulator runs on (G~, y, d + 1) (``with_bias``); b_k(0) ~ N(0, sigma0^2) like every
weight (the slides do not say how the biases are initialized; the appended-coordinate reduction makes this
the natural choice), drawn explicitly so that b(t) = b(0) + sum_i Z_ki(t) (the last coordinate of every
x~_i is 1) is known and the weight part alone, W W^T = W~ W~^T - b b^T, can be separated: everything works
on virtual data too (init: P0~ = P0 + b0 1^T, K0~ = K0 + b0 b0^T).

Two readings of "W" are reported throughout: theta = [W | b] (all trained first-layer parameters, what
the KKT conditions on the slides constrain; the primary reading) and the weights W alone (sub-ID ``:W``).

Conjectures (slides "Proof idea" pages):

* ``ST-1``  at a KKT point of the max-margin problem, y_i f(x_i; W) = 1 for all i.  Measured two ways:
  (i) along GD (small step, a proxy for GF): e(t) = max_i q_i / min_k q_k - 1 with the rate fit of
  ``invariants.fvb_maxmargin`` (e ~ c (ln t)^-beta on the late window; margin beta - 0.5, a margin
  spread that stays put gives beta ~ 0); the premise of Lyu-Li (L < log(2)/n at some time) is reported;
  (ii) ``ST-1:hunt``: local solutions of the max-margin problem by SLSQP from random starts
  (``local_max_margin_solutions`` with slope 0 on G~); for every numerically-KKT one, max_i |q_i - 1|
  (margin 1 - err / HUNT_TOL): a KKT point with some margin > 1 is a counterexample.
* ``ST-2``  limsup_t StableRank(W(t)) <= 2 under GF (GD with a small step).  Measured: the maximum of the
  stacked stable rank over the late window (last half of ln T); margin (2 - max) / 2; ``too_short`` while
  the learned part has not dominated W(0) (||W(t1)||_F^2 < 10 ||W(0)||_F^2 at the window's start).
* ``ST-3``  the proof step ||W(t)||_F^2 <= 2 ||W(t)||_2^2 + ||grad L(W(t))||_F^2 at every t.  Measured at
  every checkpoint: margin min_t (2 ||W||_2^2 + ||grad L||_F^2 - ||W||_F^2) / ||W||_F^2 (a negative margin
  is a counterexample, at the reported t).  ||grad_theta L||_F^2 = sum_k c_k G~ c_k^T with c_ki =
  (1/n) l'_i y_i a_k phi'(P~_ki) (phi'(0) := 1); for W alone G replaces G~.  The worst over the late
  window is reported too (the slides use the inequality as t -> infinity).
* ``ST-FIG`` (slides "Numerical experiments", Figure 1): synthetic mixture x_i = y_i mu + z_i, y_i
  Rademacher, mu ~ N(0, 0.01^2 I), z_i ~ N(0, I), n = 10, d = 784, m = 100, GD step 1e-4 for 5000 epochs
  (full batch: one step per epoch), init std sigma0 in {1e-5, 5e-5, 1e-4, 5e-4, 1e-3}, ReLU: stable rank
  against sigma0 (left panel) and over the last 1000 epochs (right panel).  The slides state no trend for
  this figure; their MNIST/CIFAR findings say the stable-rank order follows the order of sigma0, and KCG's
  Figs. 2-3 say smaller sigma0 gives lower stable rank.  Encoded as "increasing in sigma0"
  (``invariants.figures.ordering_margin``) for SR at epoch 5000 (``ST-FIG:ends``) and its mean over
  epochs 4000-5000 (``ST-FIG:last1000``).

Regime for the hunts (declared): near-orthogonality of the augmented data in KCG's ReLU form,
R~_min^2 >= C_ORTH R~^2 n p~ on G~ (C_ORTH = 10), which needs R_min^2 >> n (the bias coordinate adds 1 to
every inner product); GD step eta <= n / R~_max^2 (the small-step proxy of GF, as for FVB Thm 3.2).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sim import Dataset, Init, SimConfig, Trajectory, gaussian_mixture, sample_init, simulate
from sim.gram import weight_gram

from .._internal.claim import Claim, check, register
from .._internal.decay import decay_check
from .._internal.fitting import late_window
from .._internal.kkt import HUNT_TOL, HuntPoint, local_max_margin_solutions
from .._internal.ordering import ordering_margin
from .._internal.result import CheckResult

C_ORTH = 10.0      # near-orthogonality of the augmented data, KCG ReLU form
C_STEP = 1.0       # eta <= C_STEP n / R~_max^2
WINDOW = 0.5
SR_BOUND = 2.0
DOMINANCE = 10.0   # ST-2 needs ||W(t1)||_F^2 >= DOMINANCE ||W(0)||_F^2 at the start t1 of the late window
#: Where each declared constant comes from (``Claim.sources``), by constant name (module docstring).
SOURCES = {
    "C_ORTH": "choice: the slides give no constant; the hunts' regime reads 'nearly orthogonal' in KCG's ReLU form "
              "R~_min^2 >= C R~^2 n p~ on the augmented Gram G + 11^T, with a round C = 10",
    "C_STEP": "choice: GD with eta <= n / R~_max^2 as the small-step proxy of gradient flow, as for FVB Thm 3.2",
    "SR_BOUND": "paper: the slides' conjecture, limsup_t StableRank(W) <= 2 ('Proof idea', property 2; seeds/004)",
    "WINDOW": "choice: limsup read as the max over the late window, the last half of ln T",
}

#: the slides' synthetic experiment
FIG_SIGMAS: tuple[float, ...] = (1e-5, 5e-5, 1e-4, 5e-4, 1e-3)
FIG_N, FIG_D, FIG_M = 10, 784, 100
FIG_ETA, FIG_EPOCHS, FIG_LAST = 1e-4, 5000, 1000
FIG_SIGMA_MU, FIG_SIGMA_E = 0.01, 1.0

TINY = np.finfo(float).tiny


# ---- the bias reduction ------------------------------------------------------------------------------

def with_bias(data: Dataset) -> Dataset:
    """The augmented data x~_i = (x_i, 1): G~ = G + 1 1^T in dimension d + 1 (concrete X: a column of 1)."""
    G = data.G + 1.0
    if data.X is not None:
        X = np.hstack([data.X, np.ones((data.n, 1))])
        return Dataset(G=X @ X.T, y=data.y, d=data.d + 1, X=X)
    return Dataset.virtual(G, data.y, data.d + 1)


def bias_init(data: Dataset, widths: tuple[int, int], sigma0: float, rng: np.random.Generator
              ) -> tuple[Init, np.ndarray]:
    """W(0) (entries N(0, sigma0^2)) and b(0) ~ N(0, sigma0^2 I_M) as an :class:`Init` on the augmented data.

    Concrete data: W~(0) = [W(0) | b(0)] is formed; virtual data: P0~ = P0 + b0 1^T, K0~ = K0 + b0 b0^T."""
    M = sum(widths)
    b0 = rng.standard_normal(M) * sigma0
    base = sample_init(data, widths, sigma0, rng)
    if data.X is not None and base.W0 is not None:
        aug = with_bias(data)
        return Init.from_weights(np.hstack([base.W0, b0[:, None]]), aug), b0
    return Init(P0=base.P0 + b0[:, None], K0=base.K0 + np.outer(b0, b0)), b0


@dataclass
class BiasRun:
    """A GD run of the ReLU network with biases: the trajectory on the augmented data and b(0)."""

    traj: Trajectory
    b0: np.ndarray

    @property
    def G_aug(self) -> np.ndarray:
        return self.traj.data.G

    @property
    def G(self) -> np.ndarray:
        """The Gram matrix of the original x_i (G~ - 1 1^T)."""
        return self.traj.data.G - 1.0

    def coefficients(self) -> np.ndarray:
        """(T, M, n) raw coefficients Z: w~_k(t) = w~_k(0) + sum_i Z_ki x~_i."""
        return self.traj.rho_flat / np.diag(self.G_aug)[None, None, :]

    def biases(self) -> np.ndarray:
        """(T, M) b(t) = b(0) + sum_i Z_ki(t)."""
        return self.b0[None, :] + self.coefficients().sum(axis=2)

    def grams(self) -> tuple[np.ndarray, np.ndarray]:
        """(T, M, M) Gram matrices of theta = [W | b] and of W alone."""
        Z = self.coefficients()
        init = self.traj.init
        Kt = np.stack([weight_gram(init.K0, init.P0, Z[k], self.G_aug) for k in range(Z.shape[0])])
        b = self.biases()
        return Kt, Kt - b[:, :, None] * b[:, None, :]

    def grad_coefficients(self) -> np.ndarray:
        """(T, M, n) c_ki = (1/n) l'_i y_i a_k phi'(P~_ki), phi = ReLU, phi'(0) := 1."""
        tr = self.traj
        dp = np.where(tr.preact_flat >= 0, 1.0, 0.0)
        a = tr.config.second_layer
        return (tr.lprime * tr.data.y)[:, None, :] * a[None, :, None] * dp / tr.data.n

    def grad_norms2(self) -> tuple[np.ndarray, np.ndarray]:
        """(T,) ||grad_theta L||_F^2 = sum_k c_k G~ c_k^T and (T,) ||grad_W L||_F^2 = sum_k c_k G c_k^T."""
        c = self.grad_coefficients()
        gt = np.einsum("tki,ij,tkj->t", c, self.G_aug, c)
        gw = np.einsum("tki,ij,tkj->t", c, self.G, c)
        return np.maximum(gt, 0.0), np.maximum(gw, 0.0)


def norms(K: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(T,) ||.||_F^2 and ||.||_2^2 from (T, M, M) Gram matrices."""
    fro2 = np.trace(K, axis1=1, axis2=2)
    spec2 = np.array([np.linalg.eigvalsh(0.5 * (k + k.T))[-1] for k in K])
    return fro2, spec2


def st_config(n: int, d: int, m: int, *, eta: float, sigma0: float, steps: int, seed: int = 0,
              loss: str = "logistic", num_checkpoints: int = 60,
              checkpoints: Sequence[int] | None = None) -> SimConfig:
    """The ST network's configuration on the AUGMENTED data (dimension d + 1): FVB scaling, ReLU,
    m1 = m2 = m/2 (m even)."""
    if m % 2:
        raise ValueError(f"the ST network uses m1 = m2 = m/2: m must be even; got {m}")
    return SimConfig(network="fvb", activation="relu", gamma=None, loss=loss, n=n, d=d + 1, m=m, m1=m // 2,
                     eta=eta, sigma0=sigma0, steps=steps, seed=seed, num_checkpoints=num_checkpoints,
                     checkpoints=checkpoints)


def run_with_bias(data: Dataset, m: int, *, eta: float, sigma0: float, steps: int, seed: int = 0,
                  loss: str = "logistic", num_checkpoints: int = 60,
                  checkpoints: Sequence[int] | None = None) -> BiasRun:
    """GD on the ReLU network with biases on ``data`` (original coordinates); init from ``seed``."""
    cfg = st_config(data.n, data.d, m, eta=eta, sigma0=sigma0, steps=steps, seed=seed, loss=loss,
                    num_checkpoints=num_checkpoints, checkpoints=checkpoints)
    aug = with_bias(data)
    init, b0 = bias_init(data, cfg.widths, sigma0, np.random.default_rng(np.random.SeedSequence([seed, 7])))
    return BiasRun(simulate(cfg, data=aug, init=init), b0)


def implied_orth(aug: Dataset) -> float:
    """R~_min^2 / (R~^2 n p~) of the augmented data (>= C_ORTH: in the hunts' regime)."""
    return aug.implied_C()["KCG-4.3"]


def in_st_regime(cfg: SimConfig, data: Dataset) -> bool:
    """ReLU FVB-scaled network on augmented data (``data`` is G~) that is nearly orthogonal with C_ORTH, and
    a small GD step."""
    return (cfg.network == "fvb" and cfg.activation == "relu" and implied_orth(data) >= C_ORTH
            and cfg.eta <= C_STEP * data.n / data.R_max**2)


def describe_run(run: BiasRun) -> dict[str, object]:
    cfg, aug = run.traj.config, run.traj.data
    return {"n": cfg.n, "d": cfg.d - 1, "m": cfg.m, "eta": cfg.eta, "sigma0": cfg.sigma0, "steps": cfg.steps,
            "seed": cfg.seed, "loss": cfg.loss, "data": "virtual" if aug.is_virtual else "concrete",
            "p~/R~_min^2": aug.p_ratio, "R~": aug.R, "C~orth": implied_orth(aug)}


# ---- registration ------------------------------------------------------------------------------------

_NET = ("two-layer ReLU with biases, a = +-1/sqrt(m) fixed (m1 = m2), exponentially-tailed loss, GF "
        "(GD with eta <= n/R~_max^2 as proxy); nearly-orthogonal data (suite: R~_min^2 >= 10 R~^2 n p~ on "
        "the augmented Gram G + 11^T)")
_RED = ("bias = weight on an appended constant coordinate (x, 1): G~ = G + 11^T, d + 1; "
        "b(0) ~ N(0, sigma0^2); second layer +-1/sqrt(m) chosen (slides leave a unspecified; any fixed "
        "scale only rescales time and init)")

register(Claim(
    network="kcg", activation="relu",
    id="ST-1", paper="ST", where="slides 'Proof idea', property 1", kind="conjecture", status="measured",
    statement="at a KKT point of min 1/2||theta||^2 s.t. y_i f(x_i;theta) >= 1, y_i f(x_i;theta) = 1 for "
              "all i.  Measured along GD: max_i q_i/min_k q_k - 1 ~ c (ln t)^-beta, margin beta - 0.5; "
              "ST-1:hunt: SLSQP KKT points, margin 1 - max|q_i - 1|/1e-6",
    assumptions=_NET, in_regime=in_st_regime, declared={"C_orth": C_ORTH, "C_step": C_STEP},
    sources={"C_orth": SOURCES["C_ORTH"], "C_step": SOURCES["C_STEP"]},
    reading=_RED))
register(Claim(
    network="kcg", activation="relu", uses=("ST-3", "ST-1"),
    id="ST-2", paper="ST", where="slides 'Proof idea', property 2", kind="conjecture", status="measured",
    statement="limsup_t StableRank(W(t)) <= 2 (stacked first layer); measured as the max over the late "
              "window (last half of ln T), margin (2 - max)/2; theta = [W | b] (ST-2) and W alone (ST-2:W)",
    assumptions=_NET, in_regime=in_st_regime, declared={"bound": SR_BOUND, "window": WINDOW},
    sources={"bound": SOURCES["SR_BOUND"], "window": SOURCES["WINDOW"]},
    reading=_RED))
register(Claim(
    network="kcg", activation="relu",
    id="ST-3", paper="ST", where="slides 'Proof idea' (low-rank step)", kind="conjecture", status="measured",
    statement="||W(t)||_F^2 <= 2||W(t)||_2^2 + ||grad L(W(t))||_F^2 at every t; margin min_t "
              "(2||W||_2^2 + ||grad L||_F^2 - ||W||_F^2)/||W||_F^2 over the checkpoints; theta = [W | b] "
              "(ST-3) and W alone (ST-3:W)",
    assumptions=_NET, in_regime=in_st_regime, reading=_RED + "; the inequality mixes ||W||^2 and "
    "||grad||^2, which scale differently under x -> cx: it is encoded literally"))
register(Claim(
    network="kcg", activation="relu",
    id="ST-FIG", paper="ST", where="slides 'Numerical experiments', Figure 1", kind="figure",
    status="measured",
    statement="synthetic mixture n=10, d=784, mu ~ N(0, 1e-4 I), sigma_e=1, m=100, GD step 1e-4, "
              "5000 epochs, ReLU with biases: stable rank against init std sigma0 in "
              "{1e-5,5e-5,1e-4,5e-4,1e-3}; encoded 'SR increasing in sigma0' at epoch 5000 (ST-FIG:ends) "
              "and averaged over the last 1000 epochs (ST-FIG:last1000)",
    assumptions="none proved", in_regime=None,
    reading=_RED + "; labels Rademacher (not balanced); the slides state no trend for this panel: the "
    "ordering is the one their MNIST/CIFAR slides and KCG Figs. 2-3 report"))


# ---- ST-3 ----------------------------------------------------------------------------------------------

def st3_slack(fro2: np.ndarray, spec2: np.ndarray, grad2: np.ndarray) -> np.ndarray:
    """(2 ||W||_2^2 + ||grad L||_F^2 - ||W||_F^2) / ||W||_F^2, elementwise (>= 0: the inequality holds)."""
    fro2 = np.asarray(fro2, dtype=float)
    return (2.0 * np.asarray(spec2) + np.asarray(grad2) - fro2) / np.maximum(fro2, TINY)


@check("ST-3", takes="numbers")
def check_st3_arrays(times: np.ndarray, fro2: np.ndarray, spec2: np.ndarray, grad2: np.ndarray,
                     claim: str = "ST-3", config: dict[str, object] | None = None) -> CheckResult:
    """ST-3 on given arrays (one value per checkpoint): margin min_t of ``st3_slack``; the late-window
    minimum and the first t at which the slack turns negative are reported."""
    s = st3_slack(fro2, spec2, grad2)
    k = int(np.nanargmin(s))
    t = np.asarray(times)
    late = late_window(t, WINDOW, t_min=1)
    neg = np.flatnonzero(s < 0)
    implied = {"SR at worst t": float(fro2[k] / max(spec2[k], TINY)),
               "grad2/||W||_F^2 at worst t": float(grad2[k] / max(fro2[k], TINY)),
               "min slack (late window)": float(np.nanmin(s[late])) if late.any() else math.nan,
               "fraction of checkpoints violated": float(np.mean(s < 0))}
    if neg.size:
        implied["first violated t"] = float(t[neg[0]])
    return CheckResult(claim, margin=float(s[k]), measured=float(fro2[k]),
                       bound=float(2 * spec2[k] + grad2[k]), where={"t": int(t[k])}, implied=implied,
                       config=config or {},
                       note="(2||W||_2^2 + ||grad L||_F^2 - ||W||_F^2)/||W||_F^2, min over t")


@check("ST-3", takes="run")
def check_st3(run: BiasRun) -> list[CheckResult]:
    """ST-3 (theta = [W | b]) and ST-3:W (weights alone) at every checkpoint of ``run``."""
    Kt, Kw = run.grams()
    gt, gw = run.grad_norms2()
    cfg = describe_run(run)
    out = []
    for claim, K, g2 in (("ST-3", Kt, gt), ("ST-3:W", Kw, gw)):
        f2, s2 = norms(K)
        out.append(check_st3_arrays(run.traj.times, f2, s2, g2, claim, cfg))
    return out


# ---- ST-2 ----------------------------------------------------------------------------------------------

@check("ST-2", takes="numbers")
def check_st2_series(times: np.ndarray, sr: np.ndarray, claim: str = "ST-2",
                     config: dict[str, object] | None = None, fro2: np.ndarray | None = None) -> CheckResult:
    """ST-2 on a stable-rank series: max over the late window <= 2; margin (2 - max) / 2.

    With ``fro2`` (||W(t)||_F^2), a run whose learned part has not yet dominated the initialization at the
    start t1 of the late window (||W(t1)||_F^2 < DOMINANCE ||W(0)||_F^2) is ``too_short``: its stable rank
    is still the random init's (~ min(m, d)), which says nothing about the limit."""
    t = np.asarray(times)
    late = late_window(t, WINDOW, t_min=2) & np.isfinite(sr)
    if late.sum() < 2:
        return CheckResult(claim, math.nan, math.nan, SR_BOUND, config=config or {}, outcome="too_short",
                           note="fewer than 2 late checkpoints")
    idx = np.flatnonzero(late)
    if fro2 is not None and fro2[idx[0]] < DOMINANCE * fro2[0]:
        return CheckResult(claim, math.nan, float(np.max(sr[idx])), SR_BOUND, config=config or {},
                           implied={"||W(t1)||^2/||W(0)||^2": float(fro2[idx[0]] / max(fro2[0], TINY))},
                           outcome="too_short", note="init-dominated: the learned part is still below W(0)")
    k = int(idx[np.argmax(sr[idx])])
    top = float(sr[k])
    return CheckResult(claim, margin=(SR_BOUND - top) / SR_BOUND, measured=top, bound=SR_BOUND,
                       where={"t": int(t[k])},
                       implied={"SR(T)": float(sr[-1]), "SR(0)": float(sr[0]),
                                "SR min (late)": float(np.min(sr[idx]))},
                       config=config or {}, note="max of the stacked stable rank over the late window")


@check("ST-2", takes="run")
def check_st2(run: BiasRun) -> list[CheckResult]:
    """ST-2 (theta) and ST-2:W (weights alone)."""
    Kt, Kw = run.grams()
    cfg = describe_run(run)
    out = []
    for claim, K in (("ST-2", Kt), ("ST-2:W", Kw)):
        f2, s2 = norms(K)
        out.append(check_st2_series(run.traj.times, f2 / np.maximum(s2, TINY), claim, cfg, fro2=f2))
    return out


# ---- ST-1 ----------------------------------------------------------------------------------------------

@check("ST-2", "ST-3", hunt=True)
def check_st_theta(traj: Trajectory) -> list[CheckResult]:
    """ST-2 and ST-3 for theta = [W | b] on a run on augmented data (x, 1): both need only the stacked
    weights' Gram matrix and the gradient, so they read the trajectory alone (corpus replays)."""
    grad2, _ = BiasRun(traj, np.zeros(sum(traj.widths))).grad_norms2()
    f2, s2 = traj.fro2[:, 2], traj.spec2[:, 2]
    return [check_st2_series(traj.times, f2 / s2, "ST-2", fro2=f2), check_st3_arrays(traj.times, f2, s2, grad2)]


@check("ST-1", takes="numbers")
def check_st1_margins(times: np.ndarray, margins: np.ndarray, loss: np.ndarray | None = None,
                      n: int | None = None, config: dict[str, object] | None = None) -> CheckResult:
    """ST-1 along GD: e(t) = max_i q_i / min_k q_k - 1 (inf while some margin <= 0) with the rate fit of
    ``invariants.fvb_maxmargin.decay_check``; margin beta - 0.5.  The Lyu-Li premise (the loss below log(2)/n
    at some checkpoint) is reported as ``premise``."""
    q = np.asarray(margins, dtype=float)
    qmin = q.min(axis=1)
    e = np.where(qmin > 0, q.max(axis=1) / np.where(qmin > 0, qmin, 1.0) - 1.0, np.inf)
    extra: dict[str, float] = {"min margin (T)": float(qmin[-1])}
    if loss is not None and n is not None:
        extra["premise"] = float(np.any(np.asarray(loss) < math.log(2) / n))
    e = np.where(np.isfinite(e), e, np.nan)
    if qmin[-1] <= 0:
        i = int(np.argmin(q[-1]))
        return CheckResult("ST-1", math.nan, math.nan, 0.5, where={"i": i}, implied=extra,
                           config=config or {}, outcome="too_short",
                           note=f"margin of x_{i} is {q[-1, i]:.3g} <= 0 at T: every neuron is inactive on "
                                "it, GD never fits it and the Lyu-Li premise fails (no KKT limit to measure)")
    return decay_check("ST-1", np.asarray(times), e, config or {}, extra,
                  note="max_i q_i / min_k q_k - 1 ~ (ln t)^-beta (ReLU with biases)")


@check("ST-1", takes="run")
def check_st1(run: BiasRun) -> CheckResult:
    tr = run.traj
    return check_st1_margins(tr.times, tr.margins, tr.loss, tr.data.n, describe_run(run))


def st_hunt(aug: Dataset, m: int, starts: int, rng: np.random.Generator) -> list[HuntPoint]:
    """Local solutions of the max-margin problem of the ReLU network with biases (on G~) by SLSQP."""
    a = np.concatenate([np.full(m // 2, 1.0), np.full(m - m // 2, -1.0)]) / math.sqrt(m)
    return local_max_margin_solutions(aug.G, aug.y, a, 0.0, starts, rng)


@check("ST-1", takes="solution")
def check_st1_hunt(points: list[HuntPoint], config: dict[str, object] | None = None) -> CheckResult:
    """ST-1:hunt: every numerically-KKT local solution has all margins 1; margin 1 - max|q_i - 1| / HUNT_TOL
    (a KKT point with a margin > 1 is a counterexample to ST-1)."""
    kkt = [p for p in points if p.is_kkt]
    info = {"starts": float(len(points)), "kkt points": float(len(kkt))}
    if not kkt:
        return CheckResult("ST-1:hunt", math.nan, math.nan, HUNT_TOL, implied=info, config=config or {},
                           outcome="too_short", note="no numerically-KKT local solution")
    err = np.array([float(np.max(np.abs(p.margins - 1.0))) for p in kkt])
    k = int(np.argmax(err))
    info["points with a margin > 1 + tol"] = float(np.sum(err > HUNT_TOL))
    info["max margin at worst"] = float(kkt[k].margins.max())
    info["dead neurons at worst"] = float(np.sum(np.linalg.norm(kkt[k].Y, axis=1) < 1e-8))
    return CheckResult("ST-1:hunt", margin=1.0 - float(err[k]) / HUNT_TOL, measured=float(err[k]),
                       bound=HUNT_TOL, where={"kkt point": k}, implied=info, config=config or {},
                       note="max_i |q_i - 1| over numerically-KKT local solutions (ReLU with biases)")


# ---- ST-FIG --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FigSweep:
    """Stable-rank curves of the sigma0 sweep: (K, S, T) for theta = [W | b] and for W alone."""

    sigmas: tuple[float, ...]
    seeds: tuple[int, ...]
    times: np.ndarray
    sr_theta: np.ndarray
    sr_w: np.ndarray
    config: dict[str, object]


def fig_checkpoints(epochs: int, last: int, count: int = 40) -> list[int]:
    """Log-spaced checkpoints plus every 50th epoch of the last ``last`` (the right panel)."""
    ck = set(np.unique(np.round(np.geomspace(1, epochs, count)).astype(int)).tolist())
    ck |= set(range(max(epochs - last, 0), epochs + 1, 50))
    return sorted(c for c in ck if 0 <= c <= epochs)


def run_fig_sweep(seeds: Sequence[int] = (0,), sigmas: Sequence[float] = FIG_SIGMAS, n: int = FIG_N,
                  d: int = FIG_D, m: int = FIG_M, eta: float = FIG_ETA, epochs: int = FIG_EPOCHS,
                  last: int = FIG_LAST) -> FigSweep:
    """The slides' synthetic experiment (module docstring); a seed fixes the data and the standard-normal
    draw of the init (so the sigma0 runs of one seed are paired)."""
    ck = fig_checkpoints(epochs, last)
    times = np.array(ck)
    K, S = len(sigmas), len(seeds)
    sr_t = np.full((K, S, len(ck)), np.nan)
    sr_w = np.full((K, S, len(ck)), np.nan)
    for s, seed in enumerate(seeds):
        data = gaussian_mixture(n, d, np.random.default_rng(np.random.SeedSequence([seed, 1])),
                                sigma_mu=FIG_SIGMA_MU, sigma_p=FIG_SIGMA_E, virtual=d > 4096,
                                label_kind="random")
        for k, sg in enumerate(sigmas):
            run = run_with_bias(data, m, eta=eta, sigma0=sg, steps=epochs, seed=seed, checkpoints=ck)
            Kt, Kw = run.grams()
            idx = np.searchsorted(times, run.traj.times)
            for arr, KK in ((sr_t, Kt), (sr_w, Kw)):
                f2, s2 = norms(KK)
                arr[k, s, idx] = f2 / np.maximum(s2, TINY)
    cfg = {"n": n, "d": d, "m": m, "eta": eta, "epochs": epochs, "sigma_mu": FIG_SIGMA_MU,
           "sigma_e": FIG_SIGMA_E, "seeds": list(seeds), "sigmas": list(sigmas)}
    return FigSweep(tuple(float(x) for x in sigmas), tuple(int(x) for x in seeds), times, sr_t, sr_w, cfg)


@check("ST-FIG", takes="sweep")
def check_fig(sweep: FigSweep, last: int = FIG_LAST) -> list[CheckResult]:
    """ST-FIG:ends (SR at the last epoch) and ST-FIG:last1000 (mean over the last ``last`` epochs), each
    expected increasing in sigma0 (``ordering_margin``, in [-1, 1]); theta = [W | b] is compared, W alone
    reported.  The Spearman correlation of SR(T) with sigma0 over all runs is reported too."""
    T = int(sweep.times[-1])
    win = sweep.times >= T - last
    out = []
    stats = (("ends", lambda c: c[:, :, -1]), ("last1000", lambda c: np.nanmean(c[:, :, win], axis=2)))
    for name, stat in stats:
        cur, alt = stat(sweep.sr_theta), stat(sweep.sr_w)
        if not (np.all(np.isfinite(cur)) and np.all(np.isfinite(alt))):
            out.append(CheckResult(f"ST-FIG:{name}", math.nan, math.nan, 0.0, config=sweep.config,
                                   outcome="diverged", note="a run diverged"))
            continue
        o, oa = ordering_margin(cur, "increasing"), ordering_margin(alt, "increasing")
        implied = {f"SR[sigma0={s:g}]": float(v) for s, v in zip(sweep.sigmas, o.means, strict=True)}
        implied.update({f"SR_W[sigma0={s:g}]": float(v) for s, v in zip(sweep.sigmas, oa.means, strict=True)})
        implied.update({"margin (W alone)": oa.margin, "frac seeds ordered": o.frac_seeds,
                        "spearman(sigma0, SR)": spearman(np.repeat(np.log(sweep.sigmas), cur.shape[1]),
                                                         cur.reshape(-1))})
        out.append(CheckResult(f"ST-FIG:{name}", margin=o.margin, measured=o.gap, bound=0.0,
                               where={"pair": [sweep.sigmas[o.worst], sweep.sigmas[o.worst + 1]]},
                               implied=implied, config=sweep.config,
                               note="SR of [W | b] expected increasing in sigma0; pair margins "
                                    + ", ".join(f"{x:+.3g}" for x in o.pair_margins)))
    return out


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman rank correlation (average ranks for ties)."""
    def ranks(v: np.ndarray) -> np.ndarray:
        order = np.argsort(v, kind="mergesort")
        r = np.empty(len(v))
        r[order] = np.arange(len(v), dtype=float)
        for u in np.unique(v):
            mask = v == u
            r[mask] = r[mask].mean()
        return r

    rx, ry = ranks(np.asarray(x, dtype=float)), ranks(np.asarray(y, dtype=float))
    if rx.std() == 0 or ry.std() == 0:
        return math.nan
    return float(np.corrcoef(rx, ry)[0, 1])
