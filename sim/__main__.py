"""`python -m sim` is the `bordersim` command."""

import sys

from sim.entry import main

sys.exit(main())
