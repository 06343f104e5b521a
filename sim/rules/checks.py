"""Graph and policy sanity checks run after the schema: each problem is (key path, message); and warnings about
scenarios that are valid but probably not what was meant."""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING

import numpy as np

from sim.errors import ScenarioError
from sim.scenario.schema import BROKER_TARGETS, EDGE_TARGETS, GROUP_TARGETS, MAX_MONTHS, NODE_TARGETS, Scenario
from sim.scenario.dates import month_str, parse_month, step_dates
from sim.scenario.units import step_months

if TYPE_CHECKING:
    from sim.rules.network import RouteGraph


def check_scenario(sc: Scenario) -> list[tuple[str, str]]:
    """Edges name existing nodes; ids are unique; the network has at most `sim.rules.network.MAX_PATHS` candidate
    paths; origins exist and reach a destination by a path some group may use; policies select something and
    lie inside the time horizon; a geometric dwell lasts at least one step; nested-logit families name route
    labels; initial stocks stand at transit nodes their groups can pass
    (`sim.rules.stocks.stock_problems`); every value fits (`value_checks`) under every set of policies in force."""
    problems: list[tuple[str, str]] = []
    nodes = {n.id: n for n in sc.network.nodes}
    if len(nodes) != len(sc.network.nodes):
        dup = _dups([n.id for n in sc.network.nodes])
        problems.append(("network.nodes", f"node ids must be unique; repeated: {', '.join(dup)}"))
    edge_ids = [e.id for e in sc.network.edges]
    if len(set(edge_ids)) != len(edge_ids):
        problems.append(("network.edges", f"edge ids must be unique; repeated: {', '.join(_dups(edge_ids))}"))
    if problems:  # every later check looks nodes and edges up by id: with one id for two, they would mislead
        return problems
    delta = step_months(sc.time.step)
    for node in sc.network.nodes:
        if node.dwell_distribution == "geometric" and 0 < node.dwell < delta:
            problems.append((f"network.nodes[{node.id}].dwell", f"a geometric dwell is 0 (no wait) or a mean of at "
                             f"least one step ({delta:.4g} month{'s' if delta != 1 else ''} with {sc.time.step} "
                             f"steps), found {node.dwell:.4g}"))
    nest = sc.route_choice.nest
    if nest is not None:
        labels = {e.route for e in sc.network.edges if e.route}
        for fam, routes in nest.families.items():
            unknown = [r for r in routes if r not in labels]
            if unknown:
                problems.append((f"route_choice.nest.families.{fam}", f"unknown route label(s) {unknown}; the "
                                 f"edges' route labels are {sorted(labels)}"))
    for e in sc.network.edges:
        for side in ("from", "to"):
            nid = e.from_ if side == "from" else e.to
            if nid not in nodes:
                problems.append((f"network.edges[{e.id}].{side}",
                                 f"unknown node '{nid}'; known nodes: {', '.join(nodes)}"))
    if not any(n.kind == "destination" for n in nodes.values()):
        problems.append(("network.nodes", "no node has kind 'destination'"))
    origin_ids = {i for i, n in nodes.items() if n.kind == "origin"}
    for where, weights in [("population.origins", sc.population.origins)] + [
            (f"population.groups[{g.name}].origins", g.origins) for g in sc.population.groups if g.origins]:
        for o in weights:
            if o not in origin_ids:
                problems.append((f"{where}.{o}", f"'{o}' is not an origin node; origin nodes: "
                                 f"{', '.join(sorted(origin_ids)) or 'none'}"))
    if problems:
        return problems

    from sim.rules.network import RouteGraph, modes_mask

    try:
        graph = RouteGraph(sc)
    except ScenarioError as exc:  # too many candidate paths: the search stopped at its limit
        return [(exc.key or "network", exc.message)]
    if nest is not None:  # a family counts the paths of its routes: the ledger's, each path's first labelled edge's
        route_of = {graph.edge_index[e.id]: e.route for e in sc.network.edges}
        on_paths = {route_of[e] for path in graph.paths for e in path.edges}
        for fam, routes in nest.families.items():
            later = [r for r in routes if r not in graph.routes and r in on_paths]
            nowhere = [r for r in routes if r not in graph.routes and r not in on_paths]
            why = []
            if later:
                why.append(f"{later} label only later edges of paths (a path's route is the label of its first "
                           "labelled edge)")
            if nowhere:
                why.append(f"{nowhere} label no edge of any candidate path (unreachable from an origin, beyond a "
                           "destination, where paths end, or past max_path_edges)")
            if why:
                problems.append((f"route_choice.nest.families.{fam}", f"route label(s) {later + nowhere} are the "
                                 f"route of no candidate path: {'; '.join(why)}, so the family would be left "
                                 f"without them; the paths' routes are {sorted(graph.routes)}"))
    reachable: dict[str, bool] = {}
    for g in sc.population.groups:
        weights = g.origins if g.origins is not None else sc.population.origins
        if g.origins is not None and sum(g.origins.values()) <= 0:
            problems.append((f"population.groups[{g.name}].origins",
                             f"group '{g.name}': origins weights must not all be zero"))
            continue
        mask = modes_mask(g.modes)
        usable_any = False
        for o, w in weights.items():
            if w <= 0:
                continue
            ok = graph.allowed_paths(graph.node_index[o], mask).size > 0
            reachable[o] = reachable.get(o, False) or ok
            usable_any = usable_any or ok
        if not usable_any:
            problems.append((f"population.groups[{g.name}].modes",
                             f"group '{g.name}' can reach no destination from its origins using modes "
                             f"{', '.join(g.modes)} (paths of at most {sc.network.max_path_edges} edges)"))
    for o, ok in reachable.items():
        if not ok:
            problems.append((f"population.origins.{o}",
                             f"origin '{o}' reaches no destination by a path any of its groups may use"))

    start, end = parse_month(sc.time.start), parse_month(sc.time.end)
    groups = {g.name for g in sc.population.groups}
    for p in sc.policies:
        key = f"policies[{p.name}]"
        sel = p.select
        for eid in sel.edges:
            if eid not in graph.edge_index:
                problems.append((f"{key}.select.edges", f"unknown edge '{eid}'"))
        for n in sel.nodes:
            if n not in nodes:
                problems.append((f"{key}.select.nodes", f"unknown node '{n}'"))
            elif nodes[n].kind != "transit":
                problems.append((f"{key}.select.nodes", f"node '{n}' is {nodes[n].kind}; only transit nodes "
                                 "have arrest_hazard and dwell"))
        for n in sel.from_nodes:
            if n not in nodes:
                problems.append((f"{key}.select.from_nodes", f"unknown node '{n}'"))
        targets: set[str] = p.targets()
        for n in sel.nodes:
            if n in nodes and nodes[n].brokers is None and targets & BROKER_TARGETS:
                problems.append((f"{key}.select.nodes", f"node '{n}' has no brokers; brokers.capacity and "
                                 "brokers.fee apply to nodes with a brokers section"))
        for gname in sel.groups:
            if gname not in groups:
                problems.append((f"{key}.select.groups", f"unknown group '{gname}'; groups: {', '.join(groups)}"))
        starts = {graph.node_index[n] for n in sel.from_nodes if n in graph.node_index}
        edge_sel = (bool(sel.edges) or any(m in sel.modes for m in graph.edge_mode)
                    or any(a in starts for a in graph.edge_from.tolist()))
        if targets & EDGE_TARGETS and not edge_sel:
            problems.append((f"{key}.select", f"policy '{p.name}' changes edges "
                             f"({', '.join(sorted(targets & EDGE_TARGETS))}) but selects none "
                             "(select.edges, select.modes or select.from_nodes matching an edge)"))
        if (sel.edges or sel.modes or sel.from_nodes) and not targets & EDGE_TARGETS:
            problems.append((f"{key}.select", f"policy '{p.name}' selects edges but changes no edge target"))
        if targets & NODE_TARGETS and not sel.nodes:
            problems.append((f"{key}.select", f"policy '{p.name}' changes transit nodes but selects none "
                             "(select.nodes)"))
        if sel.nodes and not targets & NODE_TARGETS:
            problems.append((f"{key}.select", f"policy '{p.name}' selects nodes but changes no node target"))
        group_targets = {t for t in targets if t in GROUP_TARGETS or t.startswith("push.")}
        if sel.groups and not group_targets:
            problems.append((f"{key}.select.groups", "groups select only departure_rate and push.* targets"))
        for t in targets:
            if t.startswith("push.") and t[5:] not in sc.push:
                problems.append((f"{key}", f"push series '{t[5:]}' is not defined; defined: "
                                 f"{', '.join(sc.push) or 'none'}"))
        ps = parse_month(p.start)
        if not p.enabled:  # a policy switched off does nothing, so its dates may lie beyond the horizon: a
            continue       # counterfactual for an extended horizon (`bordersim effects`, `horizon:`) waits there
        if not start <= ps <= end:
            problems.append((f"{key}.start", f"start {p.start} lies outside the time horizon "
                             f"{month_str(start)}..{month_str(end)}"))
        if p.end is not None:
            pe = parse_month(p.end)
            after_end = (end[0] + (end[1] == 12), end[1] % 12 + 1)
            if pe > after_end:
                problems.append((f"{key}.end", f"end {p.end} lies after the time horizon (last month "
                                 f"{month_str(end)}: the latest end is {month_str(after_end)}, the month after it; "
                                 "omit end for 'until the end')"))
    if sc.initial_stock:
        from sim.rules.stocks import stock_problems

        problems += stock_problems(sc, graph)
    names = [p.name for p in sc.policies]
    if len(set(names)) != len(names):
        problems.append(("policies", f"policy names must be unique; repeated: {', '.join(_dups(names))}"))
    if not problems:
        problems += value_checks(sc, graph)
    return problems


def value_checks(sc: Scenario, graph: RouteGraph) -> list[tuple[str, str]]:
    """Every value fits under every distinct set of policies in force over the horizon: the network state's values
    (`sim.rules.policies.value_problems`: finite, durations and dwell within their limits) and every group's departure
    rate times its push (finite). Each problem names the policy key that made the value, where one did."""
    from sim.rules.policies import active_set, active_sets, group_rates, state_problems

    dates = step_dates(sc.time)
    first_date: dict[tuple[int, ...], dt.date] = {}
    for d, in_force in zip(dates, active_sets(sc, dates)):
        first_date.setdefault(in_force, d)
    problems: list[tuple[str, str]] = []
    for active, d in first_date.items():  # the first date each set is in force; one problem per policy key
        problems += [p for p in state_problems(sc, graph, active, when=_when(sc, d))
                     if all(p[0] != k for k, _ in problems)]
    if all(np.isfinite(_rate_bounds(sc, active)).all() for active in first_date):
        return problems
    with np.errstate(over="ignore", invalid="ignore"):
        rates = group_rates(sc, dates)
    for t, g in zip(*np.nonzero(~np.isfinite(rates))):
        group = sc.population.groups[g]
        keys = [f"policies[{pol.name}].{op}.{target}" for pol in (sc.policies[i] for i in active_set(sc, dates[t]))
                if not pol.select.groups or group.name in pol.select.groups
                for op, items in (("set", pol.set_to), ("scale", pol.scale))
                for target in items if target in GROUP_TARGETS or target.startswith("push.")]
        key = keys[-1] if keys else f"population.groups[{group.name}].departure_rate"
        msg = (f"departure rate of group '{group.name}' times its push series overflows (is {rates[t, g]:g}) from "
               f"{_when(sc, dates[t])}" + (f" (changed by {', '.join(keys)})" if len(keys) > 1 else "")
               + "; allowed: a finite number")
        if all(k != key for k, _ in problems):
            problems.append((key, msg))
    return problems


def _rate_bounds(sc: Scenario, active: tuple[int, ...]) -> np.ndarray:
    """Per group, an upper bound on its departure rate times its push under the `active` policies: each push
    series at its largest point (interpolation stays between points). Finite bounds prove every rate finite,
    without evaluating `group_rates` at every step."""
    from sim.rules.policies import group_rate

    push = {name: max(s.values.values()) for name, s in sc.push.items()}
    policies = [sc.policies[i] for i in active]
    out = [group_rate(group, push, policies) for group in sc.population.groups]
    return np.array(out, dtype=float)


def _when(sc: Scenario, d: dt.date) -> str:
    return month_str((d.year, d.month)) if sc.time.step == "month" else d.isoformat()


def _dups(items: list[str]) -> list[str]:
    seen, dup = set(), []
    for i in items:
        if i in seen and i not in dup:
            dup.append(i)
        seen.add(i)
    return dup


def scenario_warnings(sc: Scenario) -> list[str]:
    """Warnings for a valid scenario (call after `check_scenario`): every group with a positive share that has
    no usable path at the first step (every path its modes allow from its origins crosses an edge closed in the
    base network or by the policies in force then; such a group cannot set out until one opens), and a
    `repeat.propensity` other than 1 without any `repeat.after` delay (repeat attempts are then off and the
    propensity does nothing), and an initial stock's lognormal time waited likely (1% or more) to draw a time past
    MAX_MONTHS for one of its persons (the run then stops)."""
    from sim.rules.network import RouteGraph, modes_mask
    from sim.rules.policies import active_set, network_state, selected_edges

    graph = RouteGraph(sc)
    first = step_dates(sc.time)[0]
    active = active_set(sc, first)
    state = network_state(sc, graph, active)
    closed_by: dict[int, str] = {}
    for i in active:
        pol = sc.policies[i]
        if pol.set_to.get("open") is False:
            for e in selected_edges(pol, graph).tolist():
                closed_by[e] = f"policy '{pol.name}'" + (f", which ends {pol.end}" if pol.end else "")
        elif pol.set_to.get("open") is True:
            for e in selected_edges(pol, graph).tolist():
                closed_by.pop(e, None)
    out = []
    for g in sc.population.groups:
        if g.share <= 0:
            continue
        weights = g.origins if g.origins is not None else sc.population.origins
        mask = modes_mask(g.modes)
        allowed = [j for o, w in weights.items() if w > 0
                   for j in graph.allowed_paths(graph.node_index[o], mask).tolist()]
        if any(state.open[list(graph.paths[j].edges)].all() for j in allowed):
            continue
        closed = sorted({e for j in allowed for e in graph.paths[j].edges if not state.open[e]})
        named = [f"{graph.edge_ids[e]} ({closed_by.get(e, 'open: false in the network')})" for e in closed]
        shown = ", ".join(named[:5]) + (f" and {len(named) - 5} more" if len(named) > 5 else "")
        out.append(f"group '{g.name}' has no usable path at the first step ({_when(sc, first)}): every path its "
                   f"modes ({', '.join(g.modes)}) allow from its origins crosses a closed edge: {shown}; nobody "
                   "in it sets out while they stay closed")
    if not sc.repeat.enabled() and sc.repeat.propensity != 1.0:
        out.append(f"repeat.propensity is {sc.repeat.propensity:g} but no repeat.after delay is set: repeat "
                   "attempts are off and the propensity has no effect")
    for i, entry in enumerate(sc.initial_stock):
        w = entry.waited
        if w.dist != "lognormal" or not entry.size or w.median is None or not w.sigma:
            continue
        # P(a draw passes MAX_MONTHS) for one person, then for any of the entry's persons
        per_person = 0.5 * math.erfc(math.log(MAX_MONTHS / w.median) / (w.sigma * math.sqrt(2)))
        anyone = -math.expm1(entry.size * math.log1p(-per_person)) if per_person < 1 else 1.0
        if anyone >= 0.01:
            chance = f"{anyone:.0%}" if anyone < 0.99 else "99% or more"
            among = f"among {entry.size:,} persons" if entry.size > 1 else "for its one person"
            out.append(f"initial_stock[{i}].waited: a lognormal of median {w.median:g} and sigma {w.sigma:g} "
                       f"passes {MAX_MONTHS:g} months for one person in {1 / per_person:,.0f}; {among} a run draws "
                       f"one such time with probability {chance}, and stops there (exit 2): lower the median or "
                       "sigma")
    return out
