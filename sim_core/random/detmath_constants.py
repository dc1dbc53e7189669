"""The constants of ``detmath``, in a module without Numba (``philox_xp`` runs where only
NumPy or CuPy is)."""
LN2_HI = 6.93147180369123816490e-01  # ln 2 with its low 32 bits zero: k * LN2_HI is exact
LN2_LO = 1.90821492927058770002e-10  # ln 2 - LN2_HI
INV_LN2 = 1.44269504088896338700e+00
SQRT_HALF = 0.70710678118654752440
TWO_PI = 6.28318530717958647692
LOG_MAX = 709.782712893383973096  # exp overflows above
LOG_MIN = -745.133219101941108420  # exp is 0 below
