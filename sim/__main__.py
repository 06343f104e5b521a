"""`python -m sim` is the `bordersim` command."""

import sys

from sim.cli import main

sys.exit(main())
