/* The span step with 8 configurations in the 8 lanes of an AVX-512 register: an estimate of what a span
 * engine with configurations in vector lanes could gain, measured by benchmarks/lanes_estimate.py against
 * the project's single-configuration engine.  Not part of the simulator.
 *
 * The arithmetic per entry is the span engine's (sim/kernel.py run_steps): the loss-derivative factors,
 * the compensated update (Neumaier, branch-free), P = P0 + (Z + Zc) G, the pattern with its change counts
 * and last-change steps, and the outputs.  What it has that the engine does not: n is a compile-time
 * constant (-DN=...) and every loop over the n points is unrolled, so the n factors, the neuron's n entries
 * of Z + Zc and the n output sums stay in registers; each P entry in two FMA chains and each output in one
 * (not sim.simd's fixed orders: no bit-for-bit agreement); P is not stored and there is no Z + Zc buffer;
 * the pattern is one bit an entry; the counts are touched only where a lane's sign changed; no running sum
 * S and no finiteness checks.  A tuned kernel, not a proven bound: a faster one may exist.
 *
 * Layout, 8 configurations a group: P0, Z, Zc, changes, last (M, N, 8); G (N, N, 8); a (M, 8); y, f (N, 8);
 * act (M, N) bytes, bit l = configuration l's P >= 0.  Leaky ReLU or ReLU (slope 0), logistic loss.
 */
#include <immintrin.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>

void lanes_steps(int M, const double *P0, const double *G, const double *a, const double *y, double *Z,
                 double *Zc, uint8_t *act, int64_t *changes, int64_t *last, double *f, double slope_s,
                 double eta, int64_t t0, int nsteps) {
  const __m512d slope = _mm512_set1_pd(slope_s), zero = _mm512_setzero_pd();
  const __m512d absmask = _mm512_castsi512_pd(_mm512_set1_epi64(0x7fffffffffffffffLL));
  const __m512i one = _mm512_set1_epi64(1);
  for (int s = 0; s < nsteps; s++) {
    __m512d c[N], fn[N];
    _Pragma("GCC unroll 64")
    for (int i = 0; i < N; i++) { /* c_i = -(eta / n) l'(y_i f_i) y_i, logistic l' = -1 / (1 + e^m) */
      double cc[8];
      for (int l = 0; l < 8; l++) {
        double m_ = y[i * 8 + l] * f[i * 8 + l];
        cc[l] = -(eta / N) * (-1.0 / (1.0 + exp(m_))) * y[i * 8 + l];
      }
      c[i] = _mm512_loadu_pd(cc);
      fn[i] = zero;
    }
    const __m512i tv = _mm512_set1_epi64(t0 + s + 1);
    for (int k = 0; k < M; k++) {
      const __m512d ak = _mm512_loadu_pd(a + k * 8);
      __m512d ze[N];
      _Pragma("GCC unroll 64")
      for (int i = 0; i < N; i++) { /* Z += c_i a_k sigma'(P), compensated; ze = Z + Zc */
        size_t o = ((size_t)k * N + i) * 8;
        __m512d x = _mm512_mul_pd(c[i], ak);
        x = _mm512_mask_blend_pd(act[k * N + i], _mm512_mul_pd(x, slope), x);
        __m512d sv = _mm512_loadu_pd(Z + o);
        __m512d t = _mm512_add_pd(sv, x);
        __mmask8 big = _mm512_cmp_pd_mask(_mm512_and_pd(sv, absmask), _mm512_and_pd(x, absmask), _CMP_GE_OQ);
        __m512d c1 = _mm512_add_pd(_mm512_sub_pd(sv, t), x), c2 = _mm512_add_pd(_mm512_sub_pd(x, t), sv);
        __m512d zc = _mm512_add_pd(_mm512_loadu_pd(Zc + o), _mm512_mask_blend_pd(big, c2, c1));
        _mm512_storeu_pd(Zc + o, zc);
        _mm512_storeu_pd(Z + o, t);
        ze[i] = _mm512_add_pd(t, zc);
      }
      _Pragma("GCC unroll 64")
      for (int i = 0; i < N; i++) { /* P = P0 + ze G, the pattern, the outputs */
        size_t o = ((size_t)k * N + i) * 8;
        __m512d acc = _mm512_loadu_pd(P0 + o), acc2 = zero; /* two chains: even and odd i' */
        _Pragma("GCC unroll 64")
        for (int ip = 0; ip + 1 < N; ip += 2) {
          acc = _mm512_fmadd_pd(ze[ip], _mm512_loadu_pd(G + ((size_t)ip * N + i) * 8), acc);
          acc2 = _mm512_fmadd_pd(ze[ip + 1], _mm512_loadu_pd(G + ((size_t)(ip + 1) * N + i) * 8), acc2);
        }
        if (N % 2) acc = _mm512_fmadd_pd(ze[N - 1], _mm512_loadu_pd(G + ((size_t)(N - 1) * N + i) * 8), acc);
        acc = _mm512_add_pd(acc, acc2);
        __mmask8 now = _mm512_cmp_pd_mask(acc, zero, _CMP_GE_OQ);
        __mmask8 d = now ^ act[k * N + i];
        act[k * N + i] = now;
        if (__builtin_expect(d != 0, 0)) {
          __m512i ch = _mm512_loadu_si512(changes + o), la = _mm512_loadu_si512(last + o);
          _mm512_storeu_si512(changes + o, _mm512_mask_add_epi64(ch, d, ch, one));
          _mm512_storeu_si512(last + o, _mm512_mask_blend_epi64(d, la, tv));
        }
        fn[i] = _mm512_fmadd_pd(ak, _mm512_mask_blend_pd(now, _mm512_mul_pd(acc, slope), acc), fn[i]);
      }
    }
    _Pragma("GCC unroll 64")
    for (int i = 0; i < N; i++) _mm512_storeu_pd(f + i * 8, fn[i]);
  }
}
