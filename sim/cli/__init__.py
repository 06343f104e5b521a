"""The `bordersim` command line (`main`); one module per command family, see `sim.cli.main`."""

from sim.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
