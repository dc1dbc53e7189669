"""``iaf_cond_exp``'s time step: NEST 3.10 integrates the model's ODE over each step with
GSL's ``gsl_odeiv_evolve_apply`` (Runge-Kutta-Fehlberg 4(5), ``gsl_odeiv_step_rkf45``,
step-size control ``gsl_odeiv_control_y_new(1e-3, 0)``, the step size carried from one
time step to the next). This module is that scheme written again in scalar Numba code
(no arrays, no allocation), shared by the CPU kernels and, as a device function, by the
GPU's, with GSL's operations in GSL's order so that the state follows NEST's bit for bit:

- the right-hand side is NEST's ``iaf_cond_exp_dynamics`` (V clamped to V_reset and held
  while refractory, bounded above by V_th otherwise), term by term;
- one RKF45 step is GSL's ``rkf45_apply`` (same coefficients, same sums, same order);
  GSL also evaluates the derivative at the step's end, which only its control's
  ``a_dydt`` term reads: NEST sets that to 0, so it is skipped (it changes no bit);
- the control is GSL's ``std_control_hadjust`` with eps_abs = 1e-3, eps_rel = 0 (the error
  bound is 1e-3 on each state variable: mV and nS): shrink by 0.9 / rmax^(1/5) (at least
  0.2) and retry when the largest error ratio rmax exceeds 1.1, grow by 0.9 / rmax^(1/6)
  (1 to 5) when it is below 0.5;
- the evolution is ``gsl_odeiv_evolve_apply``: a step that would pass the end of the time
  step is cut to it, a rejected step is retried from the saved state, and the step size
  it leaves (after the cut step too) is the next step's first try.

The one function that is not IEEE arithmetic is ``pow``. libm's (glibc, the CPU) and
libdevice's (the GPU) round some results differently, so ``pow_inv`` computes x^(1/n)
from + - * / alone, in double-double precision, correctly rounded except with a
probability of about 2^-45: both devices get the same bits. glibc's pow, which NEST
calls, is itself not correctly rounded: for about 0.08 % of arguments it returns the
neighbouring double. Where that happens NEST's next step size, hence its state, differs
in the last bits (docs/user-guide.md gives the measured distance to NEST).

``evolve_step`` and ``pow_inv`` are compiled once and called (LLVM and NVVM may still
inline them): inlined into every kernel by Numba, a network's first build compiled for
52 s of CPU time instead of 20, and ran no faster (0.20 to 0.26 us per step either way).

Editing this file: clear Numba's cache (``find . -name '*.nbi' -delete``): the kernels of
other modules that call these functions are cached with their code and Numba checks only
a kernel's own file for changes (see ``random/detmath.py``).
"""
from __future__ import annotations

import math
from fractions import Fraction

from numba import njit

from ..random.detmath import exp_d, log_d

# GSL's Runge-Kutta-Fehlberg coefficients (ode-initval/rkf45.c); the constant expressions
# are rounded as the C compiler rounds them (one IEEE division each)
AH0, AH1, AH2, AH3, AH4 = 1.0 / 4.0, 3.0 / 8.0, 12.0 / 13.0, 1.0, 1.0 / 2.0  # stage times (unused: autonomous)
B30, B31 = 3.0 / 32.0, 9.0 / 32.0
B40, B41, B42 = 1932.0 / 2197.0, -7200.0 / 2197.0, 7296.0 / 2197.0
B50, B51, B52, B53 = 8341.0 / 4104.0, -32832.0 / 4104.0, 29440.0 / 4104.0, -845.0 / 4104.0
B60, B61, B62, B63, B64 = (-6080.0 / 20520.0, 41040.0 / 20520.0, -28352.0 / 20520.0, 9295.0 / 20520.0,
                           -5643.0 / 20520.0)
C1, C3, C4, C5, C6 = (902880.0 / 7618050.0, 3953664.0 / 7618050.0, 3855735.0 / 7618050.0,
                      -1371249.0 / 7618050.0, 277020.0 / 7618050.0)
EC1, EC3, EC4, EC5, EC6 = 1.0 / 360.0, -128.0 / 4275.0, -2197.0 / 75240.0, 1.0 / 50.0, 2.0 / 55.0

# NEST's control: gsl_odeiv_control_y_new(1e-3, 0.0): eps_abs, eps_rel; a_y = 1, a_dydt = 0
EPS_ABS = 1e-3
SAFETY = 0.9  # GSL's S
DBL_MIN = 2.2250738585072014e-308  # GSL's rmax starts there

# pow(x, 1.0/ord) and pow(x, 1.0/(ord + 1.0)) with rkf45's order 5: the exponents are the
# doubles nearest 1/5 and 1/6; DELTA_n = that double - 1/n (exactly; stored rounded)
DELTA5 = float(Fraction(1.0 / 5) - Fraction(1, 5))  # 1.1102230246251566e-17
DELTA6 = float(Fraction(1.0 / 6.0) - Fraction(1, 6))  # -9.25185853854297e-18
# where GSL's clamps decide the factor alone (0.9 / rmax^(1/6) > 5, 0.9 / rmax^(1/5) < 0.2),
# with a margin of 0.1 % for pow's rounding: the result is the same bits without the pow
GROW_CEILING = 0.999 * (0.9 / 5.0) ** 6
SHRINK_FLOOR = 1.001 * (0.9 / 0.2) ** 5
SPLIT = 134217729.0  # 2^27 + 1, Dekker's splitter


@njit(cache=True, inline="always")
def _two_prod(a, b):
    """a * b = p + e exactly (Dekker; no FMA, so the same on every device)."""
    p = a * b
    t = SPLIT * a
    a_hi = t - (t - a)
    a_lo = a - a_hi
    t = SPLIT * b
    b_hi = t - (t - b)
    b_lo = b - b_hi
    e = ((a_hi * b_hi - p) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo
    return p, e


@njit(cache=True)
def pow_inv(x, n, delta):
    """x ** (1.0 / n) as C's pow returns it when correctly rounded, for x > 0 (n = 5 with
    DELTA5, n = 6 with DELTA6). x = m 2^(n q + j): the n-th root c of X = m 2^j, first
    from detmath's log and exp (within a few ulp), then one Newton step on c^n - X with
    c^n in double-double (error about 2^-98); times x^delta = 1 + delta ln x + ... for the
    exponent's own rounding (delta ln x < 8e-15); times 2^q."""
    if not x < math.inf:  # inf, nan
        return x
    m, e = math.frexp(x)
    q = e // n
    X = math.ldexp(m, e - q * n)
    c0 = exp_d(log_d(X) / n)
    p_hi, p_lo, c_n1 = c0, 0.0, c0  # c0^k in double-double; c_n1 = c0^(n - 1) (rounded)
    for _ in range(n - 1):
        c_n1 = p_hi
        s, err = _two_prod(p_hi, c0)
        lo = err + p_lo * c0
        p_hi = s + lo
        p_lo = lo - (p_hi - s)
    corr = ((p_hi - X) + p_lo) / (n * c_n1)  # p_hi - X is exact (Sterbenz)
    eps = delta * log_d(x)
    return math.ldexp(c0 + (c0 * (eps + 0.5 * eps * eps) - corr), q)


@njit(cache=True, inline="always")
def rhs(v, ge, gi, refractory, v_reset, v_th, g_l, e_l, e_ex, e_in, c_m, i_stim, i_e, tau_ex, tau_in):
    """NEST's iaf_cond_exp_dynamics: (dV/dt, dg_ex/dt, dg_in/dt)."""
    vv = v_reset if refractory else (v_th if v_th < v else v)  # std::min(V, V_th)
    i_syn_exc = ge * (vv - e_ex)
    i_syn_inh = gi * (vv - e_in)
    i_l = g_l * (vv - e_l)
    dv = 0.0 if refractory else (-i_l + i_stim + i_e - i_syn_exc - i_syn_inh) / c_m
    return dv, -ge / tau_ex, -gi / tau_in


@njit(cache=True)
def evolve_step(v, ge, gi, t_end, h_try, refractory, v_reset, v_th, g_l, e_l, e_ex, e_in, c_m, i_stim, i_e,
                tau_ex, tau_in):
    """Integrate the state over [0, t_end] (one time step) as NEST's update() does: calls of
    gsl_odeiv_evolve_apply until t reaches t_end. Returns the new (V, g_ex, g_in) and the
    step size to try first in the next time step."""
    t = 0.0
    h0 = h_try
    while t < t_end:
        # gsl_odeiv_evolve_apply from t0 = t
        t0 = t
        dt = t_end - t0
        k1v, k1e, k1i = rhs(v, ge, gi, refractory, v_reset, v_th, g_l, e_l, e_ex, e_in, c_m, i_stim, i_e,
                            tau_ex, tau_in)
        while True:  # try_step
            final = False
            if dt >= 0.0 and h0 > dt:
                h0 = dt
                final = True
            # rkf45_apply (y0 = (v, ge, gi), k1 = the derivative at t0)
            a = AH0 * h0
            k2v, k2e, k2i = rhs(v + a * k1v, ge + a * k1e, gi + a * k1i, refractory, v_reset, v_th, g_l, e_l,
                                e_ex, e_in, c_m, i_stim, i_e, tau_ex, tau_in)
            k3v, k3e, k3i = rhs(v + h0 * (B30 * k1v + B31 * k2v), ge + h0 * (B30 * k1e + B31 * k2e),
                                gi + h0 * (B30 * k1i + B31 * k2i), refractory, v_reset, v_th, g_l, e_l, e_ex,
                                e_in, c_m, i_stim, i_e, tau_ex, tau_in)
            k4v, k4e, k4i = rhs(v + h0 * (B40 * k1v + B41 * k2v + B42 * k3v),
                                ge + h0 * (B40 * k1e + B41 * k2e + B42 * k3e),
                                gi + h0 * (B40 * k1i + B41 * k2i + B42 * k3i), refractory, v_reset, v_th, g_l,
                                e_l, e_ex, e_in, c_m, i_stim, i_e, tau_ex, tau_in)
            k5v, k5e, k5i = rhs(v + h0 * (B50 * k1v + B51 * k2v + B52 * k3v + B53 * k4v),
                                ge + h0 * (B50 * k1e + B51 * k2e + B52 * k3e + B53 * k4e),
                                gi + h0 * (B50 * k1i + B51 * k2i + B52 * k3i + B53 * k4i), refractory, v_reset,
                                v_th, g_l, e_l, e_ex, e_in, c_m, i_stim, i_e, tau_ex, tau_in)
            k6v, k6e, k6i = rhs(v + h0 * (B60 * k1v + B61 * k2v + B62 * k3v + B63 * k4v + B64 * k5v),
                                ge + h0 * (B60 * k1e + B61 * k2e + B62 * k3e + B63 * k4e + B64 * k5e),
                                gi + h0 * (B60 * k1i + B61 * k2i + B62 * k3i + B63 * k4i + B64 * k5i),
                                refractory, v_reset, v_th, g_l, e_l, e_ex, e_in, c_m, i_stim, i_e, tau_ex, tau_in)
            v1 = v + h0 * (C1 * k1v + C3 * k3v + C4 * k4v + C5 * k5v + C6 * k6v)
            ge1 = ge + h0 * (C1 * k1e + C3 * k3e + C4 * k4e + C5 * k5e + C6 * k6e)
            gi1 = gi + h0 * (C1 * k1i + C3 * k3i + C4 * k4i + C5 * k5i + C6 * k6i)
            ev = h0 * (EC1 * k1v + EC3 * k3v + EC4 * k4v + EC5 * k5v + EC6 * k6v)
            ee = h0 * (EC1 * k1e + EC3 * k3e + EC4 * k4e + EC5 * k5e + EC6 * k6e)
            ei = h0 * (EC1 * k1i + EC3 * k3i + EC4 * k4i + EC5 * k5i + EC6 * k6i)
            t_new = t_end if final else t0 + h0
            # std_control_hadjust: D0 = eps_rel * (...) + eps_abs = eps_abs for a finite state
            h_old = h0
            rmax = DBL_MIN
            r = abs(ev) / EPS_ABS
            rmax = r if r > rmax else rmax
            r = abs(ee) / EPS_ABS
            rmax = r if r > rmax else rmax
            r = abs(ei) / EPS_ABS
            rmax = r if r > rmax else rmax
            if rmax > 1.1:
                # beyond SHRINK_FLOOR the factor is clamped to 0.2 whatever pow returns:
                # skip the pow (131 ns of the 230 a neuron's step took)
                r = 0.2 if rmax > SHRINK_FLOOR else SAFETY / pow_inv(rmax, 5, DELTA5)
                if r < 0.2:
                    r = 0.2
                h0 = r * h_old
                # evolve_apply: retry only if the step really shrinks and still moves t
                if abs(h0) < abs(h_old) and t_new + h0 != t_new:
                    continue
                h0 = h_old
            elif rmax < 0.5:
                # below GROW_CEILING (a quiet neuron: most steps) the factor is clamped to 5
                r = 5.0 if rmax < GROW_CEILING else SAFETY / pow_inv(rmax, 6, DELTA6)
                if r > 5.0:
                    r = 5.0
                if r < 1.0:
                    r = 1.0
                h0 = r * h_old
            break
        v, ge, gi, t = v1, ge1, gi1, t_new
    return v, ge, gi, h0
