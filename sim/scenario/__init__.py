"""The scenario: what a scenario file may say and how it is read, with no knowledge of the rules that run it.

- `schema`: the pydantic models (docs/scenario.md), frozen, unknown keys rejected;
- `yaml_reader`: bounded YAML reading with line numbers, shared by scenario and every spec file;
- `validation`: raw data against a model, every problem named by file, key, line and what is allowed;
- `keys`: key paths between pydantic locations, dotted keys and lines;
- `overrides`: dotted-path `--set` overrides and the canonical dict/YAML of a scenario;
- `dates`: months and the calendar of steps; `units`: time units of values.

Loading a file *and* checking it against the rules' graph and policy checks is `sim.loading.load_scenario`.
"""
