"""JAX peers of the span engine's step (``sim.kernel.run_steps``), float64, for ``benchmarks/scaling.py``.

State laid out (n, M) like the project's transposed arrays (``Zt[i, k] = Z[k, i]``, M = 2m neurons),
``jax.jit`` over a ``lax.scan`` of the steps:

* ``same_work``: exactly the work ``run_steps`` does per step for leaky ReLU and the logistic loss --
  c_i = -(eta/n) l'(y_i f_i) y_i; Z[k, i] += c_i a_k sigma'(P[k, i]) compensated (Knuth's TwoSum error
  accumulated into Zc); P = P0 + (Z + Zc) G recomputed from the state at every step; f_i = sum_k a_k
  sigma(P[k, i]); the pattern bookkeeping (every entry whose 1(P >= 0) flipped at step t: change count
  += 1, last change = t); the compensated running sum of G_hat = mean_i(-l'_i); and, like ``run_steps``,
  the first step at which a margin or a loss derivative is not finite (recorded, not stopped at).
* ``plain``: Z += dZ (no compensation), P = P0 + Z G, f; no bookkeeping.
* ``batched``: ``jax.vmap`` of ``same_work`` over B configurations of the same shapes.

``agreement`` runs these and the project's engines from the same data and initialization and returns
the largest relative differences of the margins.  Only ``benchmarks/`` imports this module (the suite
never imports jax).

    .venv/bin/python benchmarks/jax_peers.py     # the agreement check alone
"""

from __future__ import annotations

from functools import partial
from typing import Any

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from jax import lax  # noqa: E402

Data = tuple[Any, ...]  # (P0t, G, a, y, eta, gamma)
Carry = tuple[Any, ...]


def _dloss(z: jax.Array) -> jax.Array:
    """Logistic l'(z) <= 0, as ``sim.kernel.dloss`` computes it (both branches from exp(-|z|))."""
    e = jnp.exp(-jnp.abs(z))
    return jnp.where(z >= 0.0, -e / (1.0 + e), -1.0 / (1.0 + e))


def _outputs(Pt: jax.Array, a: jax.Array, gamma: jax.Array) -> jax.Array:
    """f_i = sum_k a_k sigma(P[k, i]), leaky ReLU sigma(z) = z if z >= 0 else gamma z."""
    return jnp.where(Pt >= 0.0, Pt, gamma * Pt) @ a


def _preact(P0t: jax.Array, zeff: jax.Array, G: jax.Array) -> jax.Array:
    """P^T = P0^T + (zeff^T G)^T in the (n, M) layout: P[i, k] = P0[i, k] + sum_i' zeff[i', k] G[i', i]."""
    return P0t + jnp.matmul(G.T, zeff, precision=lax.Precision.HIGHEST)


def data_of(state: Any) -> Data:
    """(P0t, G, a, y, eta, gamma) of a ``sim.span.SpanState`` as JAX arrays."""
    return (jnp.asarray(state.P0t), jnp.asarray(state.G), jnp.asarray(state.a), jnp.asarray(state.y),
            jnp.asarray(float(state.cfg.eta)), jnp.asarray(float(state.gamma)))


def init_same(data: Data) -> Carry:
    """The same-work state at t = 0: Z = Zc = 0, P = P0, the pattern of P0, no changes, S = 0."""
    P0t, _, a, _, _, gamma = data
    zeros = jnp.zeros_like(P0t)
    return (zeros, zeros, P0t, P0t >= 0.0, jnp.zeros(P0t.shape, jnp.int64), jnp.full(P0t.shape, -1, jnp.int64),
            jnp.zeros(2), _outputs(P0t, a, gamma), jnp.asarray(0, jnp.int64), jnp.asarray(-1, jnp.int64))


def init_plain(data: Data) -> Carry:
    P0t, _, a, _, _, gamma = data
    return (jnp.zeros_like(P0t), P0t, _outputs(P0t, a, gamma))


def _same_step(data: Data, carry: Carry) -> Carry:
    P0t, G, a, y, eta, gamma = data
    Zt, Zct, Pt, act, changes, last, acc, f, t, bad = carry
    n = y.shape[0]
    marg = y * f
    lp = _dloss(marg)
    finite = jnp.all(jnp.isfinite(marg) & jnp.isfinite(lp))
    bad = jnp.where((bad < 0) & ~finite, t, bad)
    c = (-(eta / n) * lp) * y
    # S += G_hat, Neumaier-compensated (acc[0] + acc[1] is the sum)
    g, s0 = -jnp.sum(lp) / n, acc[0]
    s1 = s0 + g
    corr = jnp.where(jnp.abs(s0) >= jnp.abs(g), (s0 - s1) + g, (g - s1) + s0)
    acc = jnp.stack([s1, acc[1] + corr])
    # Z += c_i a_k sigma'(P), Knuth's TwoSum error into Zc
    x = (c[:, None] * a[None, :]) * jnp.where(Pt >= 0.0, 1.0, gamma)
    s = Zt + x
    bv = s - Zt
    Zct = Zct + ((Zt - (s - bv)) + (x - bv))
    Zt = s
    Pt = _preact(P0t, Zt + Zct, G)
    # pattern bookkeeping of step t + 1, then the outputs
    now = Pt >= 0.0
    flip = now != act
    changes = changes + flip
    last = jnp.where(flip, t + 1, last)
    f = jnp.where(now, Pt, gamma * Pt) @ a
    return (Zt, Zct, Pt, now, changes, last, acc, f, t + 1, bad)


def _plain_step(data: Data, carry: Carry) -> Carry:
    P0t, G, a, y, eta, gamma = data
    Zt, Pt, f = carry
    n = y.shape[0]
    c = (-(eta / n) * _dloss(y * f)) * y
    Zt = Zt + (c[:, None] * a[None, :]) * jnp.where(Pt >= 0.0, 1.0, gamma)
    Pt = _preact(P0t, Zt, G)
    return (Zt, Pt, _outputs(Pt, a, gamma))


def _scan(step: Any, data: Data, carry: Carry, steps: int) -> Carry:
    out, _ = lax.scan(lambda c, _: (step(data, c), None), carry, None, length=steps)
    return out


@partial(jax.jit, static_argnames=("steps",))
def same_work(data: Data, carry: Carry, steps: int) -> Carry:
    """``steps`` same-work steps from ``carry`` (``init_same``)."""
    return _scan(_same_step, data, carry, steps)


@partial(jax.jit, static_argnames=("steps",))
def plain(data: Data, carry: Carry, steps: int) -> Carry:
    """``steps`` plain steps from ``carry`` (``init_plain``)."""
    return _scan(_plain_step, data, carry, steps)


@partial(jax.jit, static_argnames=("steps",))
def batched(data: Data, carry: Carry, steps: int) -> Carry:
    """``same_work`` vmapped over a leading axis of B configurations (``stack`` of data and carries)."""
    return jax.vmap(lambda d, c: _scan(_same_step, d, c, steps))(data, carry)


def stack(items: list[tuple[Any, ...]]) -> tuple[Any, ...]:
    """Tuples of arrays stacked field by field on a new leading axis."""
    return tuple(jnp.stack(xs) for xs in zip(*items, strict=True))


def margins_same(data: Data, carry: Carry) -> np.ndarray:
    return np.asarray(data[3] * carry[7])


def margins_plain(data: Data, carry: Carry) -> np.ndarray:
    return np.asarray(data[3] * carry[2])


def rel(a: np.ndarray, b: np.ndarray) -> float:
    """Largest relative difference, entry by entry: max |a - b| / |b|."""
    return float(np.max(np.abs(a - b) / np.abs(b)))


def agreement(cfg: Any, steps: int = 1000, B: int = 32) -> dict[str, Any]:
    """Run the span engine, the JAX same-work and plain peers ``steps`` steps from ``cfg``'s data and
    initialization, and the batched span engine against the vmapped peer on B seeds of ``cfg``; return
    the largest relative differences of the final margins and whether the pattern bookkeeping (change
    counts, last-change steps, divergence step) and the running sum S agree.  Asserts < 1e-12 for the
    same-work peers (the plain peer has no compensation: reported, not asserted)."""
    from sim.batched import BatchState
    from sim.simulate import resolve
    from sim.span import SpanState

    def span_margins(st: Any) -> np.ndarray:
        o = st.observe()
        assert o is not None, "the span engine diverged"
        return np.asarray(o["margins"])

    st = SpanState(cfg, *resolve(cfg))
    data = data_of(st)
    assert st.advance(steps) is None
    ref = span_margins(st)
    same = same_work(data, init_same(data), steps)
    pl = plain(data, init_plain(data), steps)
    out: dict[str, Any] = {"steps": steps, "B": B}
    out["same_work"] = rel(margins_same(data, same), ref)
    out["plain"] = rel(margins_plain(data, pl), ref)
    out["same_work_S"] = float(abs((same[6][0] + same[6][1]) - (st.acc[0] + st.acc[1])) / (st.acc[0] + st.acc[1]))
    counts = (np.array_equal(np.asarray(same[4]), st.changest) and np.array_equal(np.asarray(same[5]), st.last_changet)
              and int(same[9]) == -1)
    cfgs = [cfg.with_(seed=s) for s in range(B)]
    rs = [resolve(c) for c in cfgs]
    bs = BatchState(cfgs, [r[0] for r in rs], [r[1] for r in rs])
    bdata = stack([data_of(s) for s in bs.states])
    bout = batched(bdata, stack([init_same(data_of(s)) for s in bs.states]), steps)
    bs.advance(steps)
    assert np.all(bs.diverged < 0), "the batched span engine diverged"
    out["vmap"] = max(rel(margins_same(tuple(x[b] for x in bdata), tuple(x[b] for x in bout)),
                          span_margins(bs.view(b))) for b in range(B))
    counts = counts and np.array_equal(np.asarray(bout[4]), bs.changest) and np.array_equal(
        np.asarray(bout[5]), bs.last_changet)
    out["counts_identical"] = bool(counts)
    out["zc_nonzero"] = bool(np.any(np.asarray(same[1]) != 0.0))  # the compensation was not optimized away
    for key in ("same_work", "vmap"):
        assert out[key] < 1e-12, f"JAX {key} disagrees with the span engine: {out[key]:.3e}"
    return out


def main() -> None:
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from sim import DataSpec, SimConfig

    cfg = SimConfig(activation="leaky_relu", gamma=0.1, n=10, d=784, m=100, eta=0.1, sigma0=1e-4, seed=0,
                    data=DataSpec(virtual=False))
    ag = agreement(cfg)
    print(f"largest relative difference of the margins after {ag['steps']} steps: same-work {ag['same_work']:.2e}, "
          f"vmap (B = {ag['B']}) {ag['vmap']:.2e}, plain {ag['plain']:.2e}; S {ag['same_work_S']:.1e}; "
          f"change counts identical: {ag['counts_identical']}; Zc nonzero: {ag['zc_nonzero']}")


if __name__ == "__main__":
    main()
