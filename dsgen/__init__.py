"""dsgen: turn articles into validated fine-tuning and evaluation datasets."""

import os as _os

# torch's OpenMP threads spin while waiting; on a shared 2-core machine that makes
# generation 3-10x slower. Passive waiting must be set before torch is imported.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
