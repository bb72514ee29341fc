"""Command-line interface: thin wrappers over the library (no logic here)."""

from __future__ import annotations

import contextlib
import json
import sys
from collections import Counter
from pathlib import Path
from typing import IO, Any

import click

from dsgen.collector import skip_collections_at_exit
from dsgen.errors import DsgenError
from dsgen.quiet import quiet_libraries


class _Progress:
    """Draws one click progress bar per stage; silent when not a terminal or --quiet."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bars: dict[str, tuple] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        if stage not in self.bars:
            bar = click.progressbar(length=total, label=stage.ljust(22), file=sys.stderr, show_eta=True, show_pos=True)
            bar.__enter__()
            self.bars[stage] = (bar, 0)
        bar, last = self.bars[stage]
        bar.update(done - last)
        self.bars[stage] = (bar, done)
        if done >= total:
            bar.__exit__(None, None, None)
            del self.bars[stage]

    def close(self) -> None:
        for bar, _ in self.bars.values():
            bar.__exit__(None, None, None)
        self.bars.clear()


#: Characters that end a line (``str.splitlines``), written escaped in an error line.
_LINE_BREAKS = str.maketrans({c: repr(c)[1:-1] for c in "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"})


def _one_line(text: str) -> str:
    """``text`` with its line breaks written escaped (``\\n``): a path may hold one, and an
    error or summary printed over two lines reads as two messages."""
    return text.translate(_LINE_BREAKS)


class OneLineUsageError(click.UsageError):
    """A usage mistake (unknown option or command, missing argument, bad value) shown
    as one line, like every other dsgen error, instead of click's usage block."""

    def show(self, file: IO[Any] | None = None) -> None:
        hint = ""
        if self.ctx is not None and self.ctx.command.get_help_option(self.ctx) is not None:
            names = self.ctx.command.get_help_option_names(self.ctx)
            hint = f" (see '{self.ctx.command_path} {max(names, key=len)}')"
        message = _one_line(self.format_message())  # an argument may hold a newline
        message = message[:-1] if message.endswith(".") else message
        click.echo(f"Error: {message}{hint}", file=file, err=file is None, color=self.ctx.color if self.ctx else None)


class OneLineError(click.ClickException):
    """Any other error a command shows (a library error, a file click cannot open) as
    one line, even when it quotes a path that holds a line break."""

    def __init__(self, error: click.ClickException) -> None:
        super().__init__(_one_line(error.format_message()))
        self.exit_code = error.exit_code


#: Raised for a bare ``dsgen`` to show the help (click >= 8.2; older versions show it
#: without an exception).
_HELP_FOR_NO_ARGS = getattr(click.exceptions, "NoArgsIsHelpError", OneLineUsageError)


@contextlib.contextmanager
def _one_line_errors(ctx: click.Context):
    try:
        yield
    except (OneLineUsageError, OneLineError, _HELP_FOR_NO_ARGS):
        raise  # already one line, or the help a bare `dsgen` asks for
    except click.UsageError as exc:
        raise OneLineUsageError(exc.format_message(), exc.ctx or ctx) from exc
    except click.ClickException as exc:
        raise OneLineError(exc) from exc


class _Command(click.Command):
    """A dsgen command: usage errors raised while parsing or running it become
    :class:`OneLineUsageError`, and every other error :class:`OneLineError`. Help
    output is unchanged."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        with _one_line_errors(ctx):
            return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        with _one_line_errors(ctx):
            return super().invoke(ctx)


class _Group(_Command, click.Group):
    """The dsgen group: the same for its own options and an unknown command name, and
    its commands are :class:`_Command`."""

    command_class = _Command


@click.group(cls=_Group)
@click.version_option(package_name="dsgen")
def cli() -> None:
    """dsgen: turn a folder of articles into validated QA, summarization and
    fact-check datasets (Hugging Face format)."""


@cli.command()
@click.argument("seeds_dir", required=False, type=click.Path(path_type=Path))
@click.option("-o", "--out", "out_dir", type=click.Path(path_type=Path), help="Output folder [default: out].")
@click.option("--passes", help="Comma-separated pass names [default: all the backend allows].")
@click.option("--backend", type=click.Choice(["transformers", "openai", "none"]), help="Model backend [default: transformers; none = templated passes only].")
@click.option("--model", help="Local Hugging Face model folder (transformers) or served model name (openai) [default: embedded Gemma 3 270M].")
@click.option("--base-url", help="OpenAI-compatible server URL, e.g. http://localhost:8000/v1 (API key from OPENAI_API_KEY).")
@click.option("--seed", type=int, help="Seed for splits, sampling and template choices [default: 0].")
@click.option("--test-size", type=float, help="Share of articles in the test split [default: 0.2].")
@click.option("--templates", "templates_dir", type=click.Path(path_type=Path, file_okay=False), help="Templates folder [default: ./templates].")
@click.option("--config", "config_file", type=click.Path(path_type=Path, dir_okay=False), help="TOML file with build options.")
@click.option("--cache-dir", type=click.Path(path_type=Path, file_okay=False), help="Model-call cache folder [default: ~/.cache/dsgen].")
@click.option("--no-cache", is_flag=True, help="Bypass the model-call cache.")
@click.option("--batch-size", type=int, help="Prompts per generate() batch (transformers) [default: 8].")
@click.option("--concurrency", type=int, help="Parallel requests (openai) [default: 4].")
@click.option("--temperature", type=float, help="Sampling temperature; 0 = greedy [default: 0].")
@click.option("--items-per-doc", "model_items_per_doc", type=int, help="Model prompts per article and pass [default: 4].")
@click.option("--num-proc", type=int, help="Worker processes (or Ray workers) for templated passes [default: 1].")
@click.option("--engine", type=click.Choice(["local", "ray"]), help="Where templated passes run: this machine, or Ray (RAY_ADDRESS; see docs/scale.md) [default: local].")
@click.option("--strict", is_flag=True, help="Fail on the first unreadable input file instead of skipping it.")
@click.option("--encoding", help="Encoding of input files that are not UTF-8, e.g. cp1250 [default: detect it per file].")
@click.option("--license", "license_", help="License for the dataset card [default: other].")
@click.option("--push-to-hub", "repo_id", help="After building, upload to this Hub dataset repo.")
@click.option("--private", is_flag=True, help="With --push-to-hub: create the repo private.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars.")
def build(seeds_dir, out_dir, passes, backend, model, base_url, seed, test_size, templates_dir, config_file,
          cache_dir, no_cache, batch_size, concurrency, temperature, model_items_per_doc, num_proc, engine, strict,
          encoding, license_, repo_id, private, quiet) -> None:
    """Build the dataset from SEEDS_DIR (default ./seeds) into OUT_DIR (default ./out)."""
    from dsgen.build import build as run_build
    from dsgen.config import load_config

    progress = _Progress(enabled=not quiet)
    with quiet_libraries() if quiet else contextlib.nullcontext():
        try:
            config = load_config(
                config_file, seeds_dir=seeds_dir, out_dir=out_dir, passes=passes, backend=backend, model=model,
                base_url=base_url, seed=seed, test_size=test_size, templates_dir=templates_dir, cache_dir=cache_dir,
                use_cache=False if no_cache else None, batch_size=batch_size, concurrency=concurrency,
                temperature=temperature, model_items_per_doc=model_items_per_doc, num_proc=num_proc, engine=engine,
                strict=True if strict else None, encoding=encoding, license=license_,
            )
            result = run_build(config, progress=progress)
        except DsgenError as exc:
            raise click.ClickException(str(exc)) from None
        finally:
            progress.close()
        r = result.report
        counts = ", ".join(f"{c} {v['train']}/{v['test']}" for c, v in r["counts"].items())
        click.echo(_one_line(f"Built {result.out_dir}/dataset (train/test: {counts}); rejected {r['rejected_total']}, "
                             f"skipped {_skips(r['skipped'], result.out_dir)} in {r['timings']['total']:.1f}s."))
        if repo_id:
            _push(result.out_dir, repo_id, private=private, token=None, revision=None)


def _skips(skipped: list[dict], out_dir: Path) -> str:
    """``"0 input(s)"``, or the count with its reasons and where each skip is listed:
    ``"3 input(s) (2 missing_text, 1 invalid_json; listed in out/build-report.json)"``."""
    if not skipped:
        return "0 input(s)"
    reasons = Counter(s["reason"] for s in skipped)
    by_count = ", ".join(f"{n} {reason}" for reason, n in sorted(reasons.items(), key=lambda item: (-item[1], item[0])))
    return f"{len(skipped)} input(s) ({by_count}; listed in {out_dir}/build-report.json)"


@cli.command()
@click.argument("out_dir", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--max-failures", default=20, show_default=True, help="Failing rows to list.")
def validate(out_dir, max_failures) -> None:
    """Re-check every published example in OUT_DIR against its source spans and
    its chat messages against the build's templates, and the dataset card's configs
    and dataset_info against the parquet files."""
    from dsgen.validate import validate_dataset

    try:
        result = validate_dataset(out_dir)
    except DsgenError as exc:
        raise click.ClickException(str(exc)) from None
    checked = ", ".join(f"{c}={n}" for c, n in result.checked.items())
    if result.ok:
        click.echo(f"OK: every row passed ({checked}).")
        _echo_notes(result.notes)
        return
    click.echo(f"FAILED: {len(result.failures)} problem(s) in rows checked ({checked}).", err=True)
    for reason, n in result.reason_counts().items():
        click.echo(f"  {reason}: {n}", err=True)
    for config, rid, problem in result.failures[:max_failures]:
        detail = f" ({problem.detail})" if problem.detail else ""
        click.echo(f"  {config} {rid}: {problem.reason}{detail}", err=True)
    _echo_notes(result.notes)
    sys.exit(1)


def _echo_notes(notes: list[str]) -> None:
    for note in notes:
        click.echo(f"Note: {note}.", err=True)


@cli.command(name="stats")
@click.argument("out_dir", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
def stats_cmd(out_dir, as_json) -> None:
    """Counts per config, split and pass, rejection reasons, and inputs the build skipped."""
    from dsgen.stats import dataset_stats, format_stats

    try:
        stats = dataset_stats(out_dir)
    except DsgenError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(json.dumps(stats, indent=2) if as_json else format_stats(stats))


cli.add_command(stats_cmd, name="inspect")


def _push(out_dir, repo_id, *, private, token, revision, force=False) -> None:
    from dsgen.push import HUB_HARNESS_DIR, push_dataset

    try:
        url = push_dataset(out_dir, repo_id, private=private, token=token, revision=revision, force=force)
    except DsgenError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(_one_line(f"Pushed {out_dir}/dataset to {url} (lm-eval tasks for it: {Path(out_dir) / HUB_HARNESS_DIR})"))


@cli.command()
@click.argument("out_dir", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.argument("repo_id")
@click.option("--private", is_flag=True, help="Create the repo as private.")
@click.option("--token", help="Hub token [default: HF_TOKEN or the saved login].")
@click.option("--revision", help="Branch to push to [default: main].")
@click.option("--force", is_flag=True, help="Upload even if the repo holds files that are not a dsgen dataset.")
def push(out_dir, repo_id, private, token, revision, force) -> None:
    """Upload the built dataset in OUT_DIR to the Hub dataset repo REPO_ID."""
    _push(out_dir, repo_id, private=private, token=token, revision=revision, force=force)


@cli.command()
@click.argument("out_dir", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--format", "fmt", type=click.Choice(["jsonl"]), default="jsonl", show_default=True, help="Output format.")
@click.option("-o", "--dest", type=click.Path(path_type=Path, file_okay=False), help="Destination [default: OUT_DIR/jsonl].")
def export(out_dir, fmt, dest) -> None:
    """Write every config and split of OUT_DIR as JSONL files, DEST/<config>/<split>.jsonl.

    An earlier export to DEST is replaced; other files there are kept, and a file that
    no export wrote is never overwritten."""
    from dsgen.jsonl_export import export_jsonl

    try:
        written = export_jsonl(out_dir, dest or Path(out_dir) / fmt)
    except DsgenError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(_one_line(f"Wrote {len(written)} file(s) to {dest or Path(out_dir) / fmt}"))


def main() -> None:
    try:
        cli()
    finally:
        skip_collections_at_exit()


if __name__ == "__main__":
    main()
