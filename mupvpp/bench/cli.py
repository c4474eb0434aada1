"""`mupvpp bench`: throughput per behaviour and handover loss."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click


@click.command("bench")
@click.argument("config", type=click.Path(dir_okay=False))
@click.option(
    "--profile",
    "profiles",
    multiple=True,
    metavar="P",
    help="TRex profile(s) to run instead of the built-in scenarios "
    "(path, or a name in trex_profiles/). Repeatable.",
)
@click.option(
    "-t",
    "--tunable",
    "tunables",
    multiple=True,
    metavar="K=V",
    help="Tunable for --profile, as TRex's `start -t` takes it. Repeatable.",
)
@click.option(
    "--duration",
    default=1.0,
    show_default=True,
    type=click.FloatRange(min=0.05),
    help="Seconds per scenario (the handover runs twice as long).",
)
@click.option("--handover/--no-handover", default=True, show_default=True)
@click.option(
    "--ues",
    default=1000,
    show_default=True,
    type=click.IntRange(1, 65534),
    help="UEs in the handover.",
)
@click.option(
    "--out",
    "out_dir",
    default="results",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Directory for bench.json, throughput.png, handover.png.",
)
@click.option(
    "--json",
    "json_out",
    type=click.Path(dir_okay=False),
    help="Also write the JSON here.",
)
@click.option(
    "--trex",
    metavar="HOST",
    help="Measure through a real TRex server (its RPC on HOST:4501) with an "
    "NDR/PDR binary search instead of the embedded engine; with the global "
    "--vpp SOCKET the device under test is that VPP, configured from CONFIG "
    "first (see docs/trex.md).",
)
def command(
    config, profiles, tunables, duration, handover, ues, out_dir, json_out, trex
):
    """Measure the data plane CONFIG describes, on the embedded engine.

    For every behaviour of the configuration that has a scenario (h.m.gtp4.d,
    end.m.gtp4.e, end.m.gtp6.d, end.m.gtp6.d.di, end.m.gtp6.e, end, end.dt4,
    h.t1st, end.map, gtp4.dt4, plus IMIX and a GTP-U control mix), the
    matching TRex profile in trex_profiles/ is compiled with the official
    TRex client (cached) and its streams are executed by the C generator
    straight into the engine, one 256-packet vector at a time.  The profiles
    default to examples/lab.yaml's addresses; where a profile has a tunable
    for its destination it is set to the first SID (or match) of the
    behaviour in CONFIG.  A scenario whose traffic still reaches no SID of
    its behaviour is reported as skipped, with the reason, and not plotted;
    behaviours without a scenario are named under the table.  Exit 7 when
    nothing at all could be measured.  Reported per
    scenario: cycles per packet and Mpps of the data plane (TSC around the
    engine: destination lookup + behaviour + counters; `make bench-core`
    shows the behaviour alone), Mpps with the generator (wall clock), drops
    by reason.  Then a handover: constant downlink to --ues
    UEs while every UE's Type 1 session moves to a new gNB; packets via the
    old and the new gNB and the loss are counted.

    \b
    Example:
      mupvpp bench examples/lab.yaml --duration 2 --out results
    """
    from mupvpp.bench import report
    from mupvpp.bench.run import Skipped, throughput, tsc_hz
    from mupvpp.bench.run import handover as run_handover
    from mupvpp.bench.scenarios import PROFILE_DIR, SCENARIOS, Scenario, aim, unmeasured
    from mupvpp.config import load_intent
    from mupvpp.engine import Engine
    from mupvpp.errors import BackendUnsupported, InputError
    from mupvpp.paths import check_dir, check_file

    root = click.get_current_context().find_root().obj
    vpp = getattr(root, "vpp", None)
    if vpp and not trex:
        raise BackendUnsupported(
            "bench with --vpp needs --trex HOST: a live VPP is measured with a "
            "real traffic generator (the embedded engine is measured without)"
        )
    if tunables and not profiles:
        raise click.UsageError("-t/--tunable applies to --profile: give a profile")
    intent = load_intent(config)
    keys = {s.behavior.key for s in intent.sids}
    if profiles:
        tun = {}
        for t in tunables:
            for kv in t.split(","):  # TRex's `start -t a=1,b=2` form too
                if "=" not in kv:
                    raise click.BadParameter(
                        f"{kv!r}: expected K=V", param_hint="-t/--tunable"
                    )
                k, v = kv.split("=", 1)
                tun[k.strip()] = v.strip()
        scen = []
        for p in profiles:
            path = Path(p)
            for cand in (path, PROFILE_DIR / p, PROFILE_DIR / f"{p}.py"):
                if cand.is_file():
                    path = cand
                    break
            else:
                raise InputError(
                    f"--profile {p}: no such file, nor trex_profiles/{p}[.py]"
                )
            if path.suffix.lower() != ".py":
                raise InputError(
                    f"--profile {p}: only TRex STL Python profiles (.py) are "
                    "supported, not TRex YAML or other profiles"
                )
            scen.append(Scenario(path.stem, "", str(path), tun))
    else:
        scen = [aim(s, intent)[0] for s in SCENARIOS if s.behavior in keys]
    check_dir(out_dir, "--out")
    if json_out:
        check_file(json_out, "--json")
    if trex:
        from mupvpp.bench.trex import format_table, run_trex_bench

        def tprog(name, frac, msg):
            click.echo(f"{name:<18} {frac:4.0%} {msg}", err=True)

        doc = run_trex_bench(
            config,
            scen,
            trex,
            duration,
            out_dir,
            progress=tprog,
            vpp_socket=vpp,
            state_path=getattr(root, "state", ".mupvpp-state.json"),
            handover=handover,
        )
        click.echo(format_table(doc))
        written = [doc["written"]]
        if json_out:
            Path(json_out).write_text(json.dumps(doc, indent=2, default=str))
            written.append(json_out)
        click.echo("results: " + ", ".join(map(str, written)))
        return
    engine = Engine()
    engine.load_intent(intent)
    hz = tsc_hz()
    rows, skipped = [], []
    click.echo(
        f"mupvpp bench {config}: {len(scen)} scenario(s), {duration}s each, "
        f"TSC {hz / 1e9:.2f} GHz",
        err=True,
    )
    for s in scen:
        with click.progressbar(
            length=100, label=f"{s.name:<18}", file=sys.stderr
        ) as bar:
            last = [0]

            def prog(f, bar=bar, last=last):
                n = int(f * 100)
                bar.update(n - last[0])
                last[0] = n

            try:
                rows.append(throughput(engine, s, duration, hz, prog))
            except Skipped as e:
                skipped.append(report.skip(s, e.reason))
            except InputError as e:
                if not s.behavior:  # the user's --profile: their error
                    raise
                # a built-in profile refused the values aimed at this config
                first = (str(e).strip().splitlines() or [""])[-1]
                skipped.append(report.skip(s, f"{Path(s.profile).name}: {first}"))
    ho = None
    ho_note = ""
    if not handover:
        ho_note = "not run (--no-handover)"
    elif profiles:
        ho_note = "not run (--profile given)"
    elif "h.t1st" not in keys:
        ho_note = "not run (no h.t1st headend in this config)"
    else:
        with click.progressbar(
            length=100, label=f"{'handover':<18}", file=sys.stderr
        ) as bar:
            last = [0]

            def prog2(f):
                n = int(f * 100)
                bar.update(n - last[0])
                last[0] = n

            try:
                ho = run_handover(
                    engine,
                    intent,
                    PROFILE_DIR / "handover_downlink.py",
                    n_ue=ues,
                    duration_s=2 * duration,
                    progress=prog2,
                )
            except ValueError as e:
                ho_note = f"skipped: {e}"
    no_scen = [] if profiles else unmeasured(keys)
    click.echo(report.table(rows, skipped, no_scen))
    click.echo("")
    click.echo(report.handover_text(ho) if ho else f"handover: {ho_note}")
    doc = report.document(config, hz, rows, ho, skipped, no_scen, ho_note)
    written, removed = report.save(Path(out_dir), doc)
    if json_out:
        Path(json_out).write_text(json.dumps(doc, indent=2))
        written.append(Path(json_out))
    click.echo("")
    click.echo("results: " + ", ".join(str(p) for p in written))
    if removed:
        click.echo(
            "removed (stale, from an earlier run): "
            + ", ".join(str(p) for p in removed)
        )
    if not rows and not ho:
        raise InputError(
            "nothing measured: "
            + ("every scenario was skipped" if scen else "no scenario for this config")
            + " (see the table above)"
        )
