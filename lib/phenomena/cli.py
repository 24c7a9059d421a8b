"""Command line: `phenomena list | show NAME | run NAME | plot NAME | report`, and `python -m experiments.NAME`.

Bad input (unknown experiment, profile or `--set` key, a mistyped value, seeds < 1) prints
one line to stderr and exits with status 2, before anything is written.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from phenomena.config import ConfigError, parse_assignments

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage dump) and exit status 2, and no abbreviated
    flags (otherwise `--seed 1` would silently mean `--seeds 1`)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, allow_abbrev=False, **kwargs)

    def error(self, message):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _add_run_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", default="quick", help="smoke | quick (CPU default) | full (GPU)")
    parser.add_argument("--seeds", type=int, default=None, help="number of seeds (default: the profile's)")
    parser.add_argument("--seed", type=int, default=None,
                        help="base seed of the run keys (default 0; same as --set seed=N)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config field, e.g. --set train.lr=0.3 (repeatable)")
    parser.add_argument("--results-dir", type=Path, default=None,
                        help="where results go (default: $PHENOMENA_RESULTS or ./results)")


def _print_verdicts(name: str, outcome) -> None:
    print(f"{name}: {len(outcome.verdicts)} claims decided -> {outcome.folder}")
    for v in outcome.verdicts:
        flag = "" if v.matches_expected else f"   (expected {v.claim.expected})"
        print(f"  {v.claim.id:42s} {v.verdict:15s} {v.statistic} = {v.interval}{flag}")
    print(f"{name}: {outcome.seconds:.1f} s = {outcome.compile_seconds:.1f} s compiling "
          f"({outcome.programs} programs) + {outcome.seconds - outcome.compile_seconds:.1f} s running")


def _run(name: str, args) -> int:
    from phenomena.runner import execute

    overrides = args.overrides + ([f"seed={args.seed}"] if args.seed is not None else [])
    outcome = execute(name, args.profile, args.seeds, parse_assignments(overrides),
                      args.results_dir)
    _print_verdicts(name, outcome)
    return 0


def _list(args) -> int:
    from phenomena import results as results_io
    from phenomena.report import latest_summary
    from phenomena.registry import experiment_names, load_experiment

    root = args.results_dir or results_io.default_results_dir()
    for name in experiment_names():
        module = load_experiment(name)
        profile, summary = latest_summary(root, name)
        verdicts = {c["id"]: c["verdict"] for c in (summary or {}).get("claims", [])}
        print(f"{name}  ({profile or 'not run'})")
        for claim in module.claims:
            print(f"  {claim.id:42s} {verdicts.get(claim.id, '-'):15s} expected {claim.expected}")
    return 0


def _show(args) -> int:
    from phenomena.config import describe
    from phenomena.runner import load_experiment, resolve_config

    module = load_experiment(args.name)
    config = resolve_config(module, args.profile)
    doc = (module.__doc__ or "").strip().splitlines()
    print(f"{args.name}: {doc[0] if doc else ''}")
    print(f"\nconfig of profile {args.profile!r} (change any with --set KEY=VALUE):")
    ignored = getattr(type(config), "IGNORED_KEYS", {})
    rows = [r for r in describe(config) if r[0] not in ignored]
    width = max(len(r[0]) for r in rows)
    type_width = max(len(r[1]) for r in rows)
    for key, kind, value, meaning in rows:
        print(f"  {key:{width}s}  {kind:{type_width}s}  {value!r:14}  {meaning}")
    for key, reason in ignored.items():
        print(f"  {key:{width}s}  not used: {reason}")
    print("\nprofiles:")
    for profile, overrides in module.PROFILES.items():
        shown = ", ".join(f"{k}={v!r}" for k, v in overrides.items()) or "(the defaults)"
        print(f"  {profile:6s} {shown}")
    print("\nclaims:")
    for claim in module.claims:
        expected = claim.expected + (" (deviation)" if claim.deviation else "")
        post_hoc = ", post-hoc" if claim.post_hoc else ""
        print(f"  {claim.id}  [{claim.kind}{post_hoc}, {claim.questions}] literature "
              f"{claim.literature}, expected {expected}")
        print(f"      rule: {claim.rule}")
    return 0


def _report(args) -> int:
    from phenomena import results as results_io
    from phenomena.report import write_report

    path = write_report(args.results_dir or results_io.default_results_dir())
    print(f"wrote {path}")
    return 0


def _plot(args) -> int:
    from phenomena.runner import replot

    for path in replot(args.name, args.profile, args.results_dir):
        print(f"wrote {path}")
    return 0


def _guarded(action) -> int:
    try:
        return action()
    except ConfigError as error:  # includes UsageError
        sys.stderr.write(f"phenomena: error: {error}\n")
        return EXIT_USAGE


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `phenomena` command."""
    parser = _Parser(prog="phenomena", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    listing = commands.add_parser("list", help="experiments, their claims and last verdicts")
    listing.add_argument("--results-dir", type=Path, default=None)
    show = commands.add_parser("show", help="an experiment's config keys, profiles and claims")
    show.add_argument("name")
    show.add_argument("--profile", default="quick")
    run = commands.add_parser("run", help="run one experiment")
    run.add_argument("name")
    _add_run_flags(run)
    plot = commands.add_parser("plot", help="redraw an experiment's figures from saved results")
    plot.add_argument("name")
    plot.add_argument("--profile", default="quick")
    plot.add_argument("--results-dir", type=Path, default=None)
    report = commands.add_parser("report", help="write results/REPORT.md")
    report.add_argument("--results-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    actions = {"list": _list, "show": _show, "plot": _plot, "report": _report,
               "run": lambda a: _run(a.name, a)}
    return _guarded(lambda: actions[args.command](args))


def experiment_main(module_name: str, argv: list[str] | None = None) -> int:
    """Entry point of `python -m experiments.NAME`: the same flags as `phenomena run NAME`."""
    name = module_name.rsplit(".", 1)[-1]
    parser = _Parser(prog=f"python -m experiments.{name}")
    _add_run_flags(parser)
    args = parser.parse_args(argv)
    return _guarded(lambda: _run(name, args))


if __name__ == "__main__":
    sys.exit(main())
