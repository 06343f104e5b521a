"""`bordersim dashboard`: the interactive dashboard (Mesa's SolaraViz, `sim.dashboard`) on a local web server."""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import signal
import sys

from sim.cli.arguments import EXIT_OK, tcp_port
from sim.dashboard import OVERRIDES_ENV, SCENARIO_ENV
from sim.dashboard.serve import HELD_SIGNALS, START
from sim.errors import UsageError

EXTRA = "bordersim[dashboard]"
NEEDED = ("solara", "solara.server", "mesa.visualization", "altair")  # mesa.visualization imports altair


def missing_packages() -> list[str]:
    """The packages of the dashboard extra that cannot be imported here."""
    out = []
    for name in NEEDED:
        try:
            found = importlib.util.find_spec(name) is not None
        except ModuleNotFoundError:  # a parent package is missing
            found = False
        if not found:
            out.append(name)
    return out


def server_command(host: str, port: int) -> list[str]:
    """`solara run` on the dashboard's page, in production mode, without opening a browser or asking PyPI for a
    newer version."""
    spec = importlib.util.find_spec("sim.dashboard.app")  # its path, without importing solara here
    assert spec is not None and spec.origin is not None
    return [sys.executable, "-c", START, "run", spec.origin, "--host", host, "--port", str(port),
            "--production", "--no-open", "--no-check-version"]


def server_env(scenario: str, overrides: list[str]) -> dict[str, str]:
    """The environment of the server: the scenario and its overrides for the page, Solara's usage telemetry
    off (it would send events to mixpanel.com)."""
    return {**os.environ, SCENARIO_ENV: os.path.abspath(scenario), OVERRIDES_ENV: json.dumps(overrides),
            "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False", "MPLBACKEND": "Agg"}


def check_address(host: str, port: int) -> None:
    """UsageError unless a server could listen on HOST:PORT now: a host name that does not resolve, an address
    not of this machine or a port in use (checked by binding it, then released) would otherwise end the server
    with a traceback or its own exit code after it started."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as exc:
        raise UsageError(f"--host {host}: cannot resolve it ({getattr(exc, 'strerror', None) or exc}); give an "
                         "address of this machine, e.g. 127.0.0.1 or 0.0.0.0") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds: TIME_WAIT is no use
        try:
            probe.bind(address)
        except OSError as exc:
            raise UsageError(f"cannot serve on {url_host(host)}:{port} ({exc.strerror or exc}); choose another "
                             "--port or --host") from None


def cmd_dashboard(args: argparse.Namespace) -> int:
    from sim.loading import load_scenario

    load_scenario(args.scenario, overrides=args.set)  # bad input: the usual message and exit 2, before any server
    missing = missing_packages()
    if missing:
        raise UsageError(f"the dashboard needs the optional dependencies of {EXTRA} ({', '.join(missing)} not "
                         f"installed); install them with: pip install '{EXTRA}' (from a checkout: "
                         f"pip install -e '.[dashboard]')")
    check_address(args.host, args.port)
    # The server replaces this process: Ctrl-C and kill reach it directly, and no orphan is left behind. They are
    # held (blocked: the mask survives exec) until the server's handlers are in place (sim.dashboard.serve), so a
    # Ctrl-C while it starts ends it as "interrupted", not with a traceback or Python's "Fatal Python error". One
    # that came just before the hold is raised here, in the Python calls between the hold and the exec. (Only the
    # calling thread is held: one taken by another thread of this process, numpy's, in the microseconds between
    # the address line and the exec is lost, and a second Ctrl-C stops the server.)
    held = signal.pthread_sigmask(signal.SIG_BLOCK, HELD_SIGNALS)
    try:
        command, env = server_command(args.host, args.port), server_env(args.scenario, args.set)
        print(f"bordersim dashboard: {args.scenario} on http://{url_host(args.host)}:{args.port} (Ctrl-C stops it)",
              flush=True)
        os.execve(command[0], command, env)
    finally:  # the exec failed, or a Ctrl-C came before the hold
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
    return EXIT_OK  # not reached


def url_host(host: str) -> str:
    """HOST as it stands before :PORT in a URL or a message: an IPv6 address in brackets ([::1]:8765)."""
    return f"[{host}]" if ":" in host else host


def register(sub) -> None:
    """Add `dashboard` to the CLI's subparsers."""
    p = sub.add_parser("dashboard", help="explore a scenario in the browser: sliders, step / play / reset, live panels",
                       description="Serve an interactive dashboard of a scenario (Mesa's SolaraViz over the Mesa "
                                   "engine): sliders and switches for the main levers, live figures and totals, and "
                                   "a download of the scenario the page is running (the slider values applied at "
                                   "the last Reset written in). Everything the "
                                   "page loads ships in the installed packages: no internet needed. Needs the "
                                   f"optional dependencies {EXTRA}. See docs/dashboard.md.")
    p.add_argument("scenario", help="scenario YAML file")
    p.add_argument("--port", type=tcp_port, default=8765, help="TCP port to serve on, 1..65535 (default: 8765)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind to (default: 127.0.0.1, reachable from this machine only); "
                        "e.g. 0.0.0.0 makes the dashboard reachable from other machines on the network, "
                        "with no authentication")
    p.add_argument("--set", action="append", default=[], metavar="PATH=VALUE",
                   help="override one scalar before the levers, as in `bordersim run` (e.g. time.end=2005-12); "
                        "repeatable")
    p.set_defaults(func=cmd_dashboard)
