"""`python -m sim` is the `bordersim` command."""

import sys

try:
    from sim.cli import main
except KeyboardInterrupt:  # Ctrl-C while Python is still importing: one line, like every other interruption
    sys.stderr.write("interrupted\n")
    sys.exit(130)

sys.exit(main())
