"""``python -m runtime`` is the same as the ``airlock-runtime`` console script."""

import sys

from runtime.cli import main

sys.exit(main())
