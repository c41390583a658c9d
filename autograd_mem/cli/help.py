"""Help grouped by section, as pytest's is: what to run, how to measure, output, the gate.

A command's options are listed under the section their name belongs to in
``SECTIONS``, written once here for every command; an option no section names (``--help``,
``--version``) is listed last under "Other options". Click lists options in one flat
block, which for ``agmem run`` was ninety lines mixing workload, program and output.
"""

from __future__ import annotations

import click

# Each option's section, by its parameter name (what the command function receives).
SECTIONS: dict[str, tuple[str, ...]] = {
    "What to run": (
        "mode", "modes", "workload", "size", "depth", "iterations", "backward", "no_grad",
        "optimizer", "batch_size", "hidden", "bptt_length", "unchain", "rng_seed", "stdin",
    ),
    "How to measure": (
        "gc_policy", "repeat", "sampler", "sample_interval_seconds", "tracemalloc", "uss",
        "explain", "force", "timeout_seconds",
    ),
    "Output": ("output_format", "output_path", "svg_path", "html_path", "quiet"),
    "Gate (what fails the check)": (
        "baseline_path", "tolerance", "min_delta_bytes", "max_slowdown",
        "max_peak_rss_growth_bytes", "max_live_objects", "max_collected",
    ),
}
OTHER = "Other options"


def section_of(name: str | None) -> str:
    """The help section an option named ``name`` is listed under."""
    return next((title for title, names in SECTIONS.items() if name in names), OTHER)


class SectionedCommand(click.Command):
    """A command whose ``--help`` lists its options section by section."""

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        grouped: dict[str, list[tuple[str, str]]] = {title: [] for title in [*SECTIONS, OTHER]}
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is not None:
                grouped[section_of(param.name)].append(record)
        for title, records in grouped.items():
            if records:
                with formatter.section(title):
                    formatter.write_dl(records)
