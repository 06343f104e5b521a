"""Policy effects with their uncertainty (`bordersim effects`). Format, statistics and outputs in docs/effects.md.

An effects spec names a base scenario, a posterior sample (parameter uncertainty), named policy packages (one of
them the baseline, usually "no change"), outcomes in the sensitivity outcome language and a horizon. Every package
runs at every posterior draw x replicate through the sweep engine (design `policies_points`; replicate k uses the
same seed at every draw and package: common random numbers), and the effect of a package on an outcome is the paired
difference e_ir = y_package(draw i, replicate r) - y_baseline(i, r), summarised with its parameter and seed parts
(`sim.analysis.effects.statistics`).
"""
