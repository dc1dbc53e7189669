"""Column layout of the per-neuron parameter and state matrices shared by all backends."""
# model codes. A network's codes are int8 unless one needs more: iaf_cond_exp's does on
# purpose, so that in kernels compiled for int8 codes the test for it is false whatever the
# value, and the compilers drop its branch (the RKF45 integrator): the GPU kernels then keep
# their registers (update 118 instead of 146, fused 127 instead of 142, ptxas sm_90), so
# networks without iaf_cond_exp keep their occupancy. Kernels for int16 codes have the branch.
PSC_EXP, PSC_ALPHA, PSC_DELTA, COND_EXP, PARROT = 0, 1, 2, 0x100, 0x101  # parrots too: see above
MODEL_CODES = {"iaf_psc_exp": PSC_EXP, "iaf_psc_alpha": PSC_ALPHA, "iaf_psc_delta": PSC_DELTA,
               "iaf_cond_exp": COND_EXP, "parrot_neuron": PARROT}
# parameter columns
(P22, P21EX, P21IN, P20, P11EX, P11IN, THETA, VRESET, IE, VMIN, P31EX, P32EX, P31IN, P32IN,
 P21EXA, P21INA, INIT_EX, INIT_IN, EXPM1, REFR_INPUT, TAU_M, EL, N_COLS) = range(23)
# iaf_cond_exp integrates its ODE numerically (backends/rkf45.py) and has no propagators:
# its parameters take the propagator columns. Its V is absolute (EL holds 0, E_L is in
# CE_EL; THETA and VRESET are V_th and V_reset), as NEST's state is.
(CE_GL, CE_CM, CE_EEX, CE_EIN, CE_TAU_EX, CE_TAU_IN, CE_EL, CE_STEP) = (
    P22, P21EX, P21IN, P20, P11EX, P11IN, P31EX, P32EX)  # CE_STEP: NEST's step in ms (tics * ms per tic)
# state columns (V is relative to E_L, as in NEST)
V, I_EX, I_IN, DI_EX, DI_IN, I0, I1, REFR_BUF, N_STATE = range(9)
# iaf_cond_exp's state: V (mV, absolute), g_ex and g_in (nS), the integrator's step size
# carried to the next time step (ms; 0: not yet set, the first try is the time step)
G_EX, G_IN, H_INT = I_EX, I_IN, DI_EX
