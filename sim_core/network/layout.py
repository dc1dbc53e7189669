"""Column layout of the per-neuron parameter and state matrices shared by all backends."""
# model codes
PSC_EXP, PSC_ALPHA, PSC_DELTA = 0, 1, 2
MODEL_CODES = {"iaf_psc_exp": PSC_EXP, "iaf_psc_alpha": PSC_ALPHA, "iaf_psc_delta": PSC_DELTA}
# parameter columns
(P22, P21EX, P21IN, P20, P11EX, P11IN, THETA, VRESET, IE, VMIN, P31EX, P32EX, P31IN, P32IN,
 P21EXA, P21INA, INIT_EX, INIT_IN, EXPM1, REFR_INPUT, TAU_M, EL, N_COLS) = range(23)
# state columns (V is relative to E_L, as in NEST)
V, I_EX, I_IN, DI_EX, DI_IN, I0, I1, REFR_BUF, N_STATE = range(9)
