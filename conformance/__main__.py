"""``python -m conformance``: see :mod:`conformance.run`."""

import sys

from .run import main

sys.exit(main())
