"""The SSM core: diagonal state-space layers over irregular time, in pure Equinox / JAX.

Every layer discretises each event with its own gap `dt` and offers three uses of one
recurrence: `scan` over a sequence, `step` by one event, `jump` by a span with no input.
Nothing here imports the rest of s5ts (only its shared array type aliases).
"""

from ._abstract_layer import (
    AbstractSSMLayer as AbstractSSMLayer,
    unchecked_gaps as unchecked_gaps,
)
from ._bidirectional import Bidirectional as Bidirectional
from ._discretisation import (
    ZOH as ZOH,
    AbstractDiscretisation as AbstractDiscretisation,
    Bilinear as Bilinear,
    Impulse as Impulse,
)
from ._dss import (
    AbstractDSSVariant as AbstractDSSVariant,
    DSSExp as DSSExp,
    DSSLayer as DSSLayer,
    DSSSoftmax as DSSSoftmax,
)
from ._initialisers import (
    hippo_legs as hippo_legs,
    hippo_n as hippo_n,
    hippo_normal as hippo_normal,
    s4d_init as s4d_init,
    s5_init as s5_init,
    skew_hippo as skew_hippo,
)
from ._s4d import (
    AbstractS4DInit as AbstractS4DInit,
    S4DInv as S4DInv,
    S4DLayer as S4DLayer,
    S4DLegS as S4DLegS,
    S4DLin as S4DLin,
    S4DReal as S4DReal,
)
from ._s5 import S5Layer as S5Layer
from ._scans import (
    AbstractScan as AbstractScan,
    AssociativeScan as AssociativeScan,
    SequentialScan as SequentialScan,
    default_scan as default_scan,
)
from ._stack import SSMBlock as SSMBlock, SSMStack as SSMStack
