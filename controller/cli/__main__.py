"""`python -m controller.cli` (what the tests run)."""

import sys

from controller.cli import main

sys.exit(main())
