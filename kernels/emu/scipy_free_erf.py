"""erf for numpy arrays without scipy (math.erf elementwise)."""
import math

import numpy as np

erf_vec = np.vectorize(math.erf, otypes=[np.float64])
