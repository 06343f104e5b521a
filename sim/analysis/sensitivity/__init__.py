"""Global sensitivity analysis (SALib) run through the sweep framework. Format and method in docs/sensitivity.md.

A sensitivity spec names parameters with bounds, outcomes in a small language, Morris and Sobol settings,
replicates and a seed. The sampler's points (SALib `sample.morris.sample` / `sample.sobol.sample`, drawn in the unit
hypercube and mapped through each parameter's distribution) are written as a `points` experiment spec into
OUT/experiment.yaml and run by the sweep engine into OUT/sweep (parallel, Dask, resumable, common random numbers:
replicate k uses the same seed at every point). Each outcome is evaluated per run and averaged over the replicates
of a point; SALib's `analyze.morris.analyze` / `analyze.sobol.analyze` turn the point means into indices.

Seed noise: SALib's confidence intervals resample the design, not the seeds. Two numbers measure the seeds' part:
- noise share = mean over points of (replicate variance / R) / variance of the point means (ddof 1): the fraction
  of the spread the analysis sees that is seed noise of the point means;
- seed interval (`*_seed_conf`): z * sd of the index over B bootstrap draws of the replicates (R replicate indices
  drawn with replacement, the same for every point so that common random numbers stay paired).
Both need R >= 2. The figures and the ranking use the combined half-width sqrt(conf^2 + seed_conf^2).

Sobol indices the design does not resolve (an interval wider than its index, S1 above ST or an index outside
[0, 1] beyond the intervals; `sobol_problems`) are reported as data: the `warning` column of indices.csv, one
message per outcome in `SensitivityResult.warnings` and ranking.txt; the command prints them as `warning: ...`.
"""

METHODS = ("morris", "sobol")  # here, not in spec.py: the command line lists them without importing the spec
