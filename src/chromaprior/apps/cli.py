"""The ``chromaprior`` command line: a thin click layer over the library.

Each command forwards its options to a library function (:mod:`chromaprior.apps.api`,
:func:`chromaprior.training.loop.train`, :func:`chromaprior.evaluation.loops.evaluate`) whose defaults
live in the library. A failure caused by the input or the options
(:class:`chromaprior.core.errors.InputError`) or by the system (``OSError``) ends as one line
``chromaprior: error: ...`` naming the file, and a non-zero exit code; anything else is a bug
and shows its traceback. ``chromaprior --debug ...`` shows the traceback of every failure.
Warnings are one line ``chromaprior: warning: ...``.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import time
import traceback
import warnings
from pathlib import Path

import click
import torch

from .. import __version__
from . import api
from ..core.color import KELVIN_RANGE
from ..core.errors import InputError
from ..core.io import MAX_PIXELS, OUTPUT_SUFFIXES, check_output, read_image, write_image
from ..models.registry import DEFAULT_METHOD, MAX_SAMPLES, METHODS, check_samples, colorize_methods
from ..methods.sampling import PRESETS

EXIT_ERROR = 1
#: Seeds are 64-bit signed integers (torch generators).
SEED = click.IntRange(0, 2**63 - 1)


def _bars() -> list:
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover
        return []
    return [b for b in list(getattr(tqdm, "_instances", ())) if not b.disable]


def _say(line: str) -> None:
    """A line on stderr that never lands inside a progress bar (bars are redrawn below it)."""
    bars = _bars()
    if bars:
        from tqdm import tqdm

        tqdm.write(line, file=sys.stderr)
    else:
        click.echo(line, err=True)


def _warn_line(message, category, filename, lineno, file=None, line=None):  # noqa: ARG001
    _say(f"chromaprior: warning: {message}")


def _fail(message: str) -> None:
    for bar in _bars():  # erase the bar: the error is the last line
        bar.leave = False
        bar.close()
    click.echo(f"chromaprior: error: {message}", err=True)
    sys.exit(EXIT_ERROR)


def _broken_pipe() -> None:
    """The reader of stdout went away (``chromaprior info | head``): stop quietly."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    sys.exit(0)


def default_threads() -> int:
    """CPU threads for torch: one per core that no other process keeps busy.

    Several threads on cores that another CPU-bound process holds make every parallel
    region wait for the slowest thread (measured: a JGM preview colorization 44 s with 2
    threads beside one busy process on 2 cores, against 4.0 s with one thread; README). The
    runnable tasks are sampled from ``/proc/loadavg`` five times over 40 ms (the minimum, less
    this process); without it the 1-minute load average is used."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cores, torch.get_num_threads()) - _others_running())


def _others_running() -> int:
    """How many runnable tasks other processes have now (see :func:`default_threads`)."""
    others = None
    try:
        samples = []
        for i in range(5):
            if i:
                time.sleep(0.01)
            with open("/proc/loadavg") as f:
                samples.append(int(f.read().split()[3].split("/")[0]) - 1)  # "running/total"; less ourselves
        others = max(0, min(samples))
    except (OSError, ValueError, IndexError):
        try:
            others = round(os.getloadavg()[0])
        except (OSError, AttributeError):
            others = 0
    return others


def _set_threads(threads: int | None) -> None:
    torch.set_num_threads(threads or default_threads())


#: failures that are the user's or the system's, not bugs: one line, no traceback
#: (out of memory included: a smaller input or --device cpu is the answer)
USER_FAILURES = (InputError, OSError, MemoryError, torch.OutOfMemoryError)


def _debug() -> bool:
    ctx = click.get_current_context(silent=True)
    root = ctx.find_root() if ctx is not None else None
    return bool(root is not None and (root.obj or {}).get("debug"))


def _line(e: BaseException) -> str:
    text = str(e).splitlines()[0] if str(e).strip() else type(e).__name__
    return f"{type(e).__name__}: {text}" if isinstance(e, (MemoryError, torch.OutOfMemoryError)) else text


def user_errors(fn):
    """One line for the user's failures (:data:`USER_FAILURES`), a traceback for bugs; with
    ``--debug`` a traceback for both."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        warnings.showwarning = _warn_line
        try:
            return fn(*args, **kwargs)
        except BrokenPipeError:
            _broken_pipe()
        except USER_FAILURES as e:  # OSError: missing, unreadable, unwritable...
            if _debug():
                traceback.print_exc()
            _fail(_line(e))
        except KeyboardInterrupt:
            if _debug():
                traceback.print_exc()
            _fail("interrupted")

    return wrapper


def _device(name: str) -> torch.device:
    if name == "cuda" and not torch.cuda.is_available():
        raise InputError("--device cuda was asked for but no CUDA device is available")
    return torch.device(name)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="chromaprior")
@click.option("--debug", is_flag=True, help="Show the traceback of every failure (bug reports).")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """Restore colour with learned priors: colorize photos and films, demosaick mosaics and camera
    raws, inpaint missing pixels (learned models by default; JGM and HGM score priors with --method)."""
    ctx.ensure_object(dict)["debug"] = debug


def _progress(total: int | None, quiet: bool, desc: str, unit: str = "nfe"):
    from tqdm import tqdm

    return tqdm(total=total, disable=quiet, unit=unit, desc=desc)


def _file_error(src: Path, e: BaseException, dst: Path | None = None) -> InputError:
    """A user failure caused by one file, as a one-line :class:`InputError` that names it."""
    text = _line(e)
    named = text.startswith(str(src)) or (dst is not None and text.startswith(str(dst)))
    return InputError(text if named else f"{src}: {text}")


def _each(pairs: list[tuple[Path, Path]], one, bar, what: str) -> None:
    """Run ``one(src, dst)`` for every pair; a user failure caused by one file (unreadable,
    too small, unsupported, refused by a library check, out of memory) is reported in one
    line naming it and the batch goes on; the command fails at the end if any did (a single
    input fails at once, with its own line only). A bug stops the batch with its traceback."""
    failures = 0
    for src, dst in pairs:
        try:
            one(src, dst)
        except USER_FAILURES as e:
            if _debug():
                traceback.print_exc()
            failures += 1
            err = _file_error(src, e, dst)
            if len(pairs) == 1:
                bar.leave = False  # close() then erases the bar
                bar.close()
                raise err from None
            bar.clear()
            click.echo(f"chromaprior: error: {err}", err=True)
            bar.refresh()
    bar.close()
    if failures:
        _fail(f"{failures} of {len(pairs)} {what} failed")


def is_folder(output: str | Path) -> bool:
    """An output that names a folder: an existing folder or a path ending in a separator."""
    return Path(output).is_dir() or str(output).endswith(("/", os.sep))


def _into(output: str, src: str, suffix: str | None = None) -> str:
    """The output file of one input: ``output`` itself, or the input's name (with ``suffix``)
    inside it when ``output`` is a folder (:func:`is_folder`)."""
    if not is_folder(output):
        return output
    keep = suffix is None and Path(src).suffix.lower() in OUTPUT_SUFFIXES
    return str(Path(output) / (Path(src).name if keep else Path(src).with_suffix(suffix or ".png").name))


def _wrote(output, what: str = "image", quiet: bool = False) -> None:
    if not quiet:
        click.echo(f"wrote {what} to {output}", err=True)


# ---------------------------------------------------------------------------------- colorize
_SHARD = click.option(
    "--shard", default=None, metavar="K/N",
    help="Only part K of N of the inputs, by a stable hash of each input's path in its folder: N runs "
         "(a job array, GNU parallel) share an archive with no shared state.")
_SKIP_EXISTING = click.option(
    "--skip-existing", is_flag=True,
    help="Leave outputs that exist already (they are complete: outputs are written atomically); "
         "resumes an interrupted batch.")


def _films_skipped(folder: Path) -> str:
    """What a folder's films get (they are not taken from folders), or "" when it holds none."""
    from ..training.data import list_images
    from .video import VIDEO_SUFFIXES

    n = len(list_images([folder], VIDEO_SUFFIXES))
    if not n:
        return ""
    return f"{n} film{'' if n == 1 else 's'} skipped: films are colorized one at a time, each given by its name"


def _plan_outputs(inputs: tuple[str, ...], output: str, skip_existing: bool = False,
                  protect: tuple = (), expand=None, suffixes: tuple[str, ...] | None = None,
                  shard: str | None = None) -> list[tuple[Path, Path]]:
    """Pair every input file with its output path (folders mirror their names), without the
    pairs whose output exists when ``skip_existing``. Everything about the outputs is
    checked here, before any work: formats, folders, inputs (and ``protect``ed files such
    as hints or a reference) that would be overwritten, and two inputs that map to one
    output (an error naming both). ``expand(dst) -> [dst, ...]``: the files one input
    writes (several samples), each paired and checked. ``suffixes``: the files a folder
    lists (default: the image formats). ``shard`` ``K/N``: only the inputs of part K
    (:func:`chromaprior.core.io.in_shard` of their path in their input folder), after every
    check has seen the whole list."""
    from ..training.data import list_images
    from ..core.io import IMAGE_SUFFIXES, in_shard, parse_shard

    part = parse_shard(shard)

    out = Path(output)
    out_real = out.resolve()
    many = len(inputs) > 1 or any(Path(i).is_dir() for i in inputs)
    if len(inputs) == 1 and not Path(inputs[0]).exists():
        raise InputError(f"{inputs[0]}: no such file")
    if many and not out.is_dir() and out.suffix.lower() in OUTPUT_SUFFIXES:
        raise InputError(f"{output}: several inputs need an output folder, not a file name")
    many = many or is_folder(output)
    pairs: list[tuple[Path, Path]] = []
    names: dict[Path, Path] = {}  # an input's path in its input folder (its file name when given alone)
    for item in map(Path, inputs):
        if item.is_dir():  # without earlier outputs, when OUT lies inside the folder
            files = [f for f in list_images([item], suffixes or IMAGE_SUFFIXES) if out_real not in f.resolve().parents]
            films = _films_skipped(item)
            if not files:
                raise InputError(f"{item}: no images in this folder" + (f" ({films})" if films else ""))
            if films:
                warnings.warn(f"{item}: {films}")
            pairs += [(f, out / f.relative_to(item)) for f in files]
            names.update((f, f.relative_to(item)) for f in files)
        elif many or out.is_dir():
            pairs.append((item, out / item.name))
        else:
            pairs.append((item, out))
    if many and out.exists() and not out.is_dir():
        raise InputError(f"{out}: several inputs need an output folder, but this is a file")
    fixed = []
    for src, dst in pairs:
        if dst.suffix.lower() not in OUTPUT_SUFFIXES:
            if many or out.is_dir():
                dst = dst.with_suffix(".png")
            else:
                raise InputError(f"{dst}: unsupported output format; use one of {', '.join(OUTPUT_SUFFIXES)}")
        fixed += [(src, d) for d in (expand(dst) if expand else [dst])]
    sources = {src.resolve() for src, _ in fixed} | {Path(p).resolve() for p in protect if p}
    seen: dict[Path, Path] = {}
    for src, dst in fixed:
        if dst.resolve() in sources:
            raise InputError(f"{dst}: refusing to overwrite an input file")
        first = seen.setdefault(dst.resolve(), src)
        if first != src:
            raise InputError(f"{first} and {src} would both be written to {dst}; give them different names "
                             "or colorize them in separate runs")
    checked: set[Path] = set()
    for _, dst in fixed:  # formats and folders, before any work
        if dst.parent not in checked:
            check_output(dst)
            checked.add(dst.parent)
        elif dst.suffix.lower() not in OUTPUT_SUFFIXES or dst.is_dir():
            check_output(dst)
    fixed = [(src, dst) for src, dst in fixed if in_shard(names.get(src, Path(src.name)), part)]
    if skip_existing:
        todo = [(src, dst) for src, dst in fixed if not dst.exists()]
        if len(todo) < len(fixed):
            what = "output(s) that exist" if expand else "input(s) whose output exists"
            click.echo(f"skipping {len(fixed) - len(todo)} {what}", err=True)
        return todo
    return fixed


@main.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path())
@click.option("-o", "--output", required=True, type=click.Path(), help="Output file, or folder for several inputs.")
@click.option("--method", type=click.Choice(colorize_methods()), default=None,
              help="Shipped colorizer: " + "; ".join(f"{m}: {METHODS[m].summary}" for m in colorize_methods())
                   + f" [default: {DEFAULT_METHOD}].")
@click.option("--model", type=click.Path(), default=None, help="Model folder (default: the shipped weights).")
@click.option("--preset", type=click.Choice(list(PRESETS)), default="fast", show_default=True,
              help="Sampler preset (jgm).")
@click.option("--seed", type=SEED, default=0, show_default=True, help="Random seed (the same for every image).")
@click.option("--samples", type=int, default=1, show_default=True,
              help=f"Colourings per photo (sampled methods: jgm; 1..{MAX_SAMPLES}), from seeds seed..seed+N-1, "
                   "written as NAME-s{seed}.EXT beside OUTPUT (or in the folder); prints their diversity.")
@click.option("--temperature", type=click.FloatRange(*KELVIN_RANGE), default=6500, show_default=True,
              help="Colour temperature (kelvin) of the light the result is rendered under: lower is warmer.")
@click.option("--hints", "hints_path", type=click.Path(), default=None,
              help='Colour hints, a JSON list of {"x": col, "y": row, "rgb": [r, g, b], "radius": px} '
                   "(or lists of them: strokes), in the input's pixels; or a folder of them for several inputs: "
                   "DIR/NAME.json for each input, NAME its path in its input folder without the suffix.")
@click.option("--reference", type=click.Path(), default=None,
              help="A colour photo whose palette the colours are moved towards.")
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True)
@click.option("--gray", "gray", type=click.Choice(["mean", "bt601"]), default="mean", show_default=True,
              help="Gray operator: mean (r+g+b)/3 as JGM, or BT.601 luma (blind colorization).")
@click.option("--recolor", is_flag=True,
              help="Accept colour photos: their colour is discarded and their gray colorized anew "
                   "(without it a colour input is an error; gray and toned (sepia) photos are always accepted).")
@click.option("--vividness", type=click.FloatRange(0, 1), default=None,
              help="semantic: 0 = the mean of the predicted colours (muted where unsure) ... 1 = the most likely "
                   "colour everywhere (vivid, and sometimes confidently wrong) [default: the model's].")
@click.option("--work-size", type=click.IntRange(16, 1024), default=None, help="Short side of the sampling grid.")
@click.option("--max-pixels", type=click.IntRange(1, 10**10), default=MAX_PIXELS, show_default=True,
              help="Refuse larger inputs.")
@click.option("--threads", type=click.IntRange(1, 1024), default=None,
              help="CPU threads [default: one per core that no other process keeps busy].")
@click.option("--compile", "compile_", is_flag=True,
              help="torch.compile the network: ~3x faster per step after a compilation of a minute or more; "
                   "for folders of many photos.")
@_SKIP_EXISTING
@_SHARD
@click.option("--keyframe-every", type=click.IntRange(1, 1000), default=None,
              help="Video: colorize a keyframe every N frames (and at every scene cut); the frames between "
                   "get the keyframes' colours carried along the optical flow (1: every frame alone) [default: 8].")
@click.option("--codec", type=click.Choice(["h264", "ffv1"]), default=None,
              help="Video: h264 (4:2:0, --crf) or ffv1 (lossless, .mkv) [default: h264].")
@click.option("--crf", type=click.IntRange(0, 51), default=None, help="Video: H.264 quality, lower is better [default: 18].")
@click.option("--start", type=click.FloatRange(0), default=None, help="Video: begin at this time (seconds).")
@click.option("--end", type=click.FloatRange(0, min_open=True), default=None, help="Video: stop at this time (seconds).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@user_errors
def colorize(inputs, output, method, model, preset, seed, samples, temperature, hints_path, reference, device, gray,
             recolor, vividness, work_size, max_pixels, threads, compile_, skip_existing, shard, keyframe_every, codec, crf,
             start, end, quiet):
    """Colorize grayscale photos INPUT... (files or folders) into OUTPUT; or a film (.mp4, .mkv, ...)
    into a video (or a folder of PNG frames), without flicker."""
    from ..methods.colorize import Colorizer
    from .video import is_video_path

    video_options = {"keyframe_every": keyframe_every, "codec": codec, "crf": crf, "start": start, "end": end}
    if any(is_video_path(i) for i in inputs):
        if samples > 1 or shard:
            raise InputError(f"{'--samples' if samples > 1 else '--shard'} applies to photos, not to films")
        _colorize_video(inputs, output, video_options, method=method, model=model, preset=preset, seed=seed,
                        temperature=temperature, hints_path=hints_path, reference=reference, device=device,
                        gray=gray, recolor=recolor, vividness=vividness, work_size=work_size, max_pixels=max_pixels,
                        threads=threads, compile_=compile_, skip_existing=skip_existing, quiet=quiet)
        return
    given = [f"--{k.replace('_', '-')}" for k, v in video_options.items() if v is not None]
    if given:
        raise InputError(f"{', '.join(given)} apply to videos (.mp4, .mkv, ...), not to photos")
    check_samples(samples, method or (None if model else DEFAULT_METHOD), seed)  # before any work
    seeds: dict[Path, int] = {}  # a sample's file -> its seed

    def expand(dst: Path) -> list[Path]:
        paths = api.sample_paths(dst, samples, seed)
        seeds.update(zip(paths, range(seed, seed + samples)))
        return paths

    pairs = _plan_outputs(inputs, output, skip_existing, protect=(hints_path, reference), shard=shard,
                          expand=expand if samples > 1 else None)
    hints_of = _hints_of(inputs, pairs, hints_path)
    _set_threads(threads)
    col = Colorizer(model, device=_device(device), gray=gray, method=method, compile=compile_)
    col.check_samples(samples, seed)  # the model's method (--model)
    col.check_vividness(vividness)
    palette = api.palette_of(read_image(reference, max_pixels=max_pixels), reference) if reference else None
    protect = tuple(src for src, _ in pairs) + ((reference,) if reference else ())
    bar = _progress(len(pairs) * col.nfe(preset), quiet, "colorize")
    options = dict(recolor=recolor, reference=palette, preset=preset, work_size=work_size,
                   temperature=temperature, vividness=vividness)

    def one(src: Path, dst: Path) -> None:
        pic = read_image(src, max_pixels=max_pixels)
        bar.set_postfix_str(src.name)
        out = api.colorize_picture(pic, col, name=str(src), seed=seed, callback=lambda *_: bar.update(1),
                                   hints=hints_of[src], **options)
        write_image(dst, out, protect=protect)

    def several(src: Path, dsts: list[Path]) -> None:
        from ..evaluation.metrics import diversity_thumbnail, sample_diversity

        pic = read_image(src, max_pixels=max_pixels)
        bar.set_postfix_str(src.name)
        start, thumbs = bar.n, []
        path = {seeds[d]: d for d in dsts}
        drawn = api.colorize_samples(pic, col, samples, seed=seed, only=list(path), name=str(src),
                                     callback=lambda done, total: bar.update(start + done - bar.n),
                                     hints=hints_of[src], **options)
        for s, out in drawn:
            write_image(path[s], out, protect=protect)
            thumbs.append(diversity_thumbnail(api.to_tensor(out.pixels)))  # colorized: (H, W, 3)
        if len(thumbs) > 1 and not quiet:
            _say(f"{src}: {len(thumbs)} samples, diversity {sample_diversity(torch.cat(thumbs)):.1f} "
                 "(mean pairwise a*b* distance)")

    if samples > 1:
        groups: dict[Path, list[Path]] = {}
        for src, dst in pairs:
            groups.setdefault(src, []).append(dst)
        _each(list(groups.items()), several, bar, "images")
    else:
        _each(pairs, one, bar, "images")
    if not quiet:
        beside = samples > 1 and pairs and not Path(output).is_dir()
        click.echo(f"wrote {len(pairs)} image(s) " + (f"beside {output}: {pairs[0][1].name} .. {pairs[-1][1].name}"
                                                      if beside else f"to {output}"), err=True)


@main.command()
@click.argument("photo", type=click.Path())
@click.option("--at", "spot", required=True, metavar="X,Y", help="The spot, in the photo's pixels (column, row).")
@click.option("--top", type=click.IntRange(1, 50), default=None, help="How many colours [default: 6].")
@click.option("--hints", "hints_path", type=click.Path(), default=None, help="Hints already placed (a hints JSON).")
@click.option("--model", type=click.Path(), default=None, help="A steerable colorizer [default: the shipped one].")
@click.option("--recolor", is_flag=True, help="Accept a colour photo (its colour is discarded).")
@click.option("--max-pixels", type=click.IntRange(1, 10**10), default=MAX_PIXELS, show_default=True)
@user_errors
def suggest(photo, spot, top, hints_path, model, recolor, max_pixels):
    """The likely colours of a spot of PHOTO, as JSON: [{"rgb": [r, g, b], "p": 0.31}, ...], most likely first."""
    import json

    from ..methods.colorize import Colorizer

    try:
        x, y = (float(v) for v in spot.split(","))
    except ValueError:
        raise InputError(f"--at takes X,Y (two numbers), got {spot!r}") from None
    pic = read_image(photo, max_pixels=max_pixels)
    col = Colorizer(model, method=None if model else "steerable")
    click.echo(json.dumps(api.suggest_colours(pic, col, x, y, top=top, hints=hints_path, recolor=recolor,
                                              name=str(photo))))


def _hints_of(inputs, pairs: list[tuple[Path, Path]], hints_path) -> dict[Path, Path | None]:
    """The hints file of each input: ``--hints FILE`` for a single input, ``--hints DIR`` paired
    by name (:func:`chromaprior.hints.hint_files`; a hints file without its photo is a warning)."""
    from ..core.hints import hint_files

    sources = list(dict.fromkeys(src for src, _ in pairs))
    if not hints_path or not Path(hints_path).is_dir():
        if hints_path and len(sources) > 1:
            raise InputError(f"{hints_path}: hints are in one image's pixels; for several inputs give a folder "
                             "of NAME.json files")
        return {src: hints_path for src in sources}
    paired, unused = hint_files([Path(i) for i in inputs], sources, hints_path)
    for p in unused:
        _say(f"warning: {p}: no input photo of that name; its hints are not used")
    return paired


def _colorize_video(inputs, output, video_options: dict, *, method, model, preset, seed, temperature, hints_path,
                    reference, device, gray, recolor, vividness, work_size, max_pixels, threads, compile_,
                    skip_existing, quiet) -> None:
    """``colorize`` of one film (:func:`chromaprior.apps.video.colorize_video`): a progress bar in
    frames with an ETA; an interrupted run resumes by itself (same input and options)."""
    from tqdm import tqdm

    from ..methods.colorize import Colorizer
    from .video import check_video, colorize_video

    if len(inputs) != 1:
        raise InputError("give one video at a time (and photos in another run)")
    src, dst = Path(inputs[0]), Path(output)
    if skip_existing and dst.is_file():
        click.echo(f"skipping {src}: {dst} exists", err=True)
        return
    try:  # the input and the output, before the model is loaded
        check_video(src, dst, codec=video_options["codec"] or "h264", crf=18 if video_options["crf"] is None
                    else video_options["crf"], start=video_options["start"], end=video_options["end"],
                    max_pixels=max_pixels)
    except USER_FAILURES as e:
        raise _file_error(src, e, dst) from None
    for extra in (hints_path, reference):
        if extra and dst.exists() and Path(extra).resolve() == dst.resolve():
            raise InputError(f"{dst}: refusing to overwrite an input file")
    _set_threads(threads)
    col = Colorizer(model, device=_device(device), gray=gray, method=method, compile=compile_)
    col.check_vividness(vividness)
    palette = api.palette_of(read_image(reference, max_pixels=max_pixels), reference) if reference else None
    bar = tqdm(disable=quiet, unit="frame", desc="colorize")

    def progress(done: int, total: int | None) -> None:
        if total and (bar.total or 0) < max(total, done):
            bar.total = max(total, done)
        bar.update(done - bar.n)

    options = {k: v for k, v in video_options.items() if v is not None}
    try:
        result = colorize_video(src, dst, col, recolor=recolor, hints=hints_path, reference=palette,
                                temperature=temperature, progress=progress, threads=torch.get_num_threads(),
                                max_pixels=max_pixels, preset=preset, seed=seed, work_size=work_size,
                                vividness=vividness, **options)
    except USER_FAILURES as e:
        bar.leave = False
        bar.close()
        raise _file_error(src, e, dst) from None
    bar.close()
    if not quiet:
        resumed = f", resumed at frame {result.resumed_at}" if result.resumed_at is not None else ""
        cuts = f"{result.cuts} scene cut{'' if result.cuts == 1 else 's'}"
        click.echo(f"wrote {result.total} frames to {dst} ({result.keyframes} keyframes, {cuts}, "
                   f"{result.frames / max(result.seconds, 1e-9):.1f} frames/s{resumed})", err=True)


# ------------------------------------------------------------------- mosaic / demosaick / inpaint
_PATTERN = click.option("--pattern", type=click.Choice(["RGGB", "BGGR", "GRBG", "GBRG"], case_sensitive=False),
                        default="RGGB", show_default=True, help="Bayer tile, row by row from the top-left pixel.")


def _restore_options(fn):
    for opt in reversed([
        click.option("--model", type=click.Path(), default=None, help="Restoration prior (default: the shipped one)."),
        click.option("--first-stage", default=None,
                     help="What starts the sampler instead of the built-in fill: a (3-channel) prior's folder "
                          "(HGM's progressive strategy) or a classical method (Menon2007, Malvar2004, bilinear, "
                          "biharmonic, Telea)."),
        click.option("--preset", type=click.Choice(list(PRESETS)), default="fast", show_default=True),
        click.option("--start-level", type=click.IntRange(0), default=None,
                     help="Noise level the sampler starts at from the first restoration (0: from pure noise)."),
        click.option("--seed", type=SEED, default=0, show_default=True),
        click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True),
        click.option("--max-pixels", type=click.IntRange(1, 10**10), default=MAX_PIXELS, show_default=True),
        click.option("--threads", type=click.IntRange(1, 1024), default=None,
                     help="CPU threads [default: one per core that no other process keeps busy]."),
        click.option("-q", "--quiet", is_flag=True, help="No progress bar."),
    ]):
        fn = opt(fn)
    return fn




@main.command()
@click.argument("rgb", type=click.Path())
@click.option("-o", "--output", required=True, type=click.Path(), help="Mosaic file: .png/.tif (gray) or .npy.")
@_PATTERN
@click.option("--bits", type=click.Choice(["8", "16"]), default=None, help="Bit depth [default: the input's].")
@user_errors
def mosaic(rgb, output, pattern, bits):
    """Sample a colour image RGB through a Bayer filter into a one-channel MOSAIC."""
    from ..core.io import write_mosaic

    output = _into(output, rgb, ".png")
    check_output(output, (rgb,), mosaic_bits=int(bits or 8))
    pic = read_image(rgb)
    depth = int(bits or min(pic.bits, 16))  # a float array's mosaic: 16 bits (or float in .npy)
    check_output(output, (rgb,), mosaic_bits=depth)
    write_mosaic(output, api.mosaic_picture(pic, pattern, name=rgb), depth, protect=(rgb,))
    _wrote(output, f"a {pattern} mosaic")


#: options of the HGM sampler: with --method learned they are an error
_HGM_ONLY = ("first_stage", "preset", "start_level", "seed")


def _refuse_sampler_options(learned: bool) -> None:
    """A one-line error when an option of the HGM sampler was given to a learned network."""
    from click.core import ParameterSource

    ctx = click.get_current_context()
    given = [n for n in _HGM_ONLY if ctx.get_parameter_source(n) not in (ParameterSource.DEFAULT, None)]
    if learned and given:
        raise InputError(f"--{given[0].replace('_', '-')} applies to --method hgm; the learned network "
                         "has no sampler options")


@main.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path())
@click.option("-o", "--output", required=True, type=click.Path(), help="Output file (or folder for several inputs).")
@_PATTERN
@click.option("--method", type=click.Choice(["learned", "hgm"]), default=None,
              help="learned: Menon2007 + a trained CNN correction, one network pass (tiled); hgm: the HGM score "
                   "prior's sampler (--first-stage, --preset, --start-level, --seed apply to it only) "
                   "[default: learned, or the kind of --model].")
@_restore_options
@_SKIP_EXISTING
@_SHARD
@user_errors
def demosaick(inputs, output, pattern, method, model, first_stage, preset, start_level, seed, device, max_pixels,
              threads, quiet, skip_existing, shard):
    """Demosaick Bayer mosaics (gray PNG/TIFF, 8/16 bit, or .npy) or camera raw files (DNG, CR2, NEF,
    ARW, ...: the raw extra) into colour images."""
    from ..methods.learned import load_demosaicker
    from ..core.io import read_mosaic
    from ..core.io import IMAGE_SUFFIXES
    from .raw import RAW_SUFFIXES, demosaick_raw, is_raw

    pairs = _plan_outputs(inputs, output, skip_existing, suffixes=IMAGE_SUFFIXES + RAW_SUFFIXES, shard=shard)
    _set_threads(threads)
    r = load_demosaicker(model, method, device=_device(device), first_stage=first_stage, start_level=start_level)
    learned = not r.sampled
    _refuse_sampler_options(learned)
    bar = _progress(None if learned else len(pairs) * r.nfe(preset), quiet, "demosaick", "tile" if learned else "nfe")
    protect = tuple(src for src, _ in pairs)
    options = {} if learned else {"preset": preset, "seed": seed}

    def step(done: int, total: int) -> None:
        if learned and done == 1:
            bar.total = (bar.total or 0) + total
            bar.refresh()
        bar.update(1)

    def one(src: Path, dst: Path) -> None:
        if is_raw(src):  # pattern, levels and colour from the file
            out = demosaick_raw(src, r, max_pixels=max_pixels, callback=step, **options)
            write_image_or_tiff(dst, out, protect)
            return
        raw, bits = read_mosaic(src, max_pixels)
        out = api.demosaick_mosaic(raw, r, pattern, bits=bits, callback=step, **options)
        write_image(dst, out, protect=protect)

    _each(pairs, one, bar, "mosaics")
    _wrote(output if len(pairs) != 1 else pairs[0][1], f"{len(pairs)} image(s)", quiet)


def write_image_or_tiff(dst: Path, pic, protect: tuple) -> None:
    """16-bit results: a 16-bit TIFF for .tif/.tiff (:func:`chromaprior.apps.raw.write_tiff16`), else write_image."""
    from .raw import write_tiff16

    if dst.suffix.lower() in (".tif", ".tiff"):
        write_tiff16(dst, pic.pixels, protect=protect)
    else:
        write_image(dst, pic, protect=protect)


@main.command()
@click.argument("image", type=click.Path())
@click.option("--mask", "mask_path", required=True, type=click.Path(), help="Same-size image: white = missing.")
@click.option("-o", "--output", required=True, type=click.Path())
@click.option("--method", type=click.Choice(["learned", "hgm"]), default=None,
              help="learned: a biharmonic fill + a trained U-Net correction, one pass in tiles; hgm: the HGM "
                   "score prior's sampler (--first-stage, --preset, --start-level, --seed apply to it only) "
                   "[default: learned, or the kind of --model].")
@_restore_options
@user_errors
def inpaint(image, mask_path, output, method, model, first_stage, preset, start_level, seed, device, max_pixels,
            threads, quiet):
    """Fill the pixels of IMAGE that are white in MASK."""
    from ..methods.learned import load_inpainter

    output = _into(output, image)
    check_output(output, (image, mask_path))  # before minutes of sampling
    _set_threads(threads)
    pic = read_image(image, max_pixels)
    mask = read_image(mask_path, max_pixels)
    r = load_inpainter(model, method, device=_device(device), first_stage=first_stage, start_level=start_level)
    learned = not r.sampled
    _refuse_sampler_options(learned)
    bar = _progress(None if learned else r.nfe(preset), quiet, "inpaint", "tile" if learned else "nfe")
    options = {} if learned else {"preset": preset, "seed": seed}

    def step(done: int, total: int) -> None:
        if learned and done == 1:
            bar.total = total
            bar.refresh()
        bar.update(1)

    try:
        out = api.inpaint_picture(pic, mask, r, name=mask_path, callback=step, **options)
    except USER_FAILURES as e:
        raise _file_error(Path(image), e) from None
    bar.close()
    write_image(output, out, protect=(image, mask_path))
    _wrote(output, quiet=quiet)


# ------------------------------------------------------------------------------------- train
@main.command()
@click.option("--method", type=click.Choice(list(METHODS)), default="jgm", show_default=True,
              help="; ".join(f"{m.name}: {m.summary}" for m in METHODS.values()) + ".")
@click.option("--task", type=click.Choice(["colorize", "restore"]), default=None,
              help="What the prior is for [default: restore for hgm-*, else colorize].")
@click.option("--downscale", type=float, default=None,
              help="Shrink photos by this factor and take fixed-size crops (restoration priors) "
                   "[default: 2 for restore, else 0 = crops of any size resized to --size].")
@click.option("--data", "data", multiple=True, type=click.Path(), help="Image folder (repeatable; required unless --resume).")
@click.option("--out", required=True, type=click.Path(), help="Run folder (weights, card, state, log).")
@click.option("--resume", is_flag=True,
              help="Continue the run in --out with its own settings (after a kill, or with a larger --iterations).")
@click.option("--size", type=click.IntRange(8, 4096), default=64, show_default=True)
@click.option("--batch-size", type=click.IntRange(1, 65536), default=16, show_default=True)
@click.option("--iterations", type=click.IntRange(1, 10**9), default=10_000, show_default=True)
@click.option("--lr", type=click.FloatRange(0, 1), default=0.0, help="Learning rate [default: 2e-4 for cgan, else 1e-3].")
@click.option("--lr-halve-every", type=click.IntRange(0, 10**9), default=0, show_default=True)
@click.option("--ngf", type=click.IntRange(1, 1024), default=32, show_default=True,
              help="Network width (32: ~1.5M params, 64: ~6M).")
@click.option("--levels", type=click.IntRange(2, 1000), default=10, show_default=True, help="Noise levels (score priors).")
@click.option("--depth", type=click.IntRange(1, 12), default=5, show_default=True, help="U-Net levels (cgan, unet).")
@click.option("--sigma-max", type=click.FloatRange(0, 1000, min_open=True), default=1.0, show_default=True)
@click.option("--sigma-min", type=click.FloatRange(0, 1000, min_open=True), default=0.01, show_default=True)
@click.option("--rebalance", type=click.FloatRange(0, 1), default=0.0, show_default=True,
              help="semantic: class rebalancing of the a*b* bins (Zhang et al.'s lambda; 0 = plain cross-entropy).")
@click.option("--train-from", type=click.IntRange(0, 16), default=16, show_default=True,
              help="semantic: first EfficientNet block to train (16 = frozen encoder, 11 = fine-tune the top stage).")
@click.option("--balance", is_flag=True, help="Draw every --data folder equally often, whatever its size.")
@click.option("--init", "init", type=click.Path(exists=True, file_okay=False), default=None,
              help="Start from the weights of this saved model of the same method (fine-tuning; jgm-guided: also a jgm model).")
@click.option("--guide", type=click.Path(exists=True, file_okay=False), default=None,
              help="jgm-guided: the semantic colorizer whose frozen features condition the score prior "
                   "[default: the shipped one].")
@click.option("--checkpoint-every", type=click.IntRange(1, 10**9), default=500, show_default=True)
@click.option("--seed", type=SEED, default=0, show_default=True)
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True)
@click.option("-q", "--quiet", is_flag=True)
@user_errors
def train(method, task, downscale, data, out, resume, size, batch_size, iterations, lr, lr_halve_every, ngf, levels, depth,
          sigma_max, sigma_min, rebalance, train_from, balance, init, guide, checkpoint_every, seed, device, quiet):
    """Train a score prior (denoising score matching) or a supervised colorizer on folders of photos."""
    from ..training.loop import TrainConfig
    from ..training.loop import train as run

    if not data and not resume:
        raise click.UsageError("Missing option '--data' (only --resume reads it from the run).")
    config = TrainConfig(
        method=method, task=task or "", downscale=downscale, size=size, batch_size=batch_size, iterations=iterations, lr=lr,
        lr_halve_every=lr_halve_every, ngf=ngf, num_levels=levels, depth=depth, sigma_max=sigma_max, sigma_min=sigma_min,
        rebalance=rebalance, train_from=train_from, balance=balance, init=str(init or ""), guide=str(guide or ""),
        checkpoint_every=checkpoint_every, seed=seed, data=[str(d) for d in data],
    )
    run(config, out, resume=resume, device=_device(device), progress=not quiet)
    click.echo(f"model written to {out}", err=True)


# ---------------------------------------------------------------------------------- evaluate
@main.command()
@click.option("--task", type=click.Choice(["colorize", "demosaick", "inpaint"]), default="colorize", show_default=True)
@click.option("--data", required=True, multiple=True, type=click.Path(),
              help="Folder of ground-truth colour images; colorize: repeatable, each scored and all pooled.")
@click.option("--size", type=click.IntRange(8, 8192), default=None,
              help="Evaluation size (short side resized, centre crop) [default: 128 for colorize, whole images else].")
@click.option("--model", type=click.Path(), default=None, help="Model folder [default: the shipped one].")
@click.option("--method", type=click.Choice(colorize_methods()), default=None,
              help="colorize: the shipped colorizer to evaluate (instead of --model).")
@click.option("--preset", "presets", multiple=True, type=click.Choice(list(PRESETS)), help="Repeatable; default fast.")
@click.option("--gray", type=click.Choice(["mean", "bt601"]), default="mean", show_default=True,
              help="colorize: gray operator the colorizer assumes (inputs are always made with the mean).")
@click.option("--variants", is_flag=True,
              help="colorize: add the paper's ablations: no gradient consistency, blind (BT.601) colorization.")
@click.option("--compare", multiple=True, metavar="LABEL=MODEL",
              help="Another model to evaluate in the same table, e.g. jgm-divide=runs/divide (repeatable).")
@click.option("--all-methods", is_flag=True,
              help=f"colorize: add a row for every shipped colorizer ({', '.join(colorize_methods())}).")
@_PATTERN
@click.option("--border", type=click.IntRange(0), default=0, show_default=True,
              help="demosaick: pixels cropped from each side before scoring.")
@click.option("--missing", type=click.Choice(["0.5", "0.8", "block"]), default="0.8", show_default=True,
              help="inpaint: fraction of random missing pixels, or a centred block.")
@click.option("--first-stage", default=None,
              help="demosaick/inpaint: add a row whose sampling starts from this prior (folder) or classical method.")
@click.option("--seed", type=SEED, default=0, show_default=True)
@click.option("--limit", type=click.IntRange(1), default=None, help="Only the first N images.")
@click.option("--report", type=click.Path(), default=None, help="Write the result as .json or .csv.")
@click.option("--fid-weights", type=click.Path(), default=None,
              help="colorize: torch.export feature network (.pt2), (B,3,H,W) in [0,1] -> (B,D), for FID "
                   "[default: Inception-v3 of the eval extra, if installed].")
@click.option("--no-fid", is_flag=True, help="colorize: no FID column.")
@click.option("--record", is_flag=True, help="Also store the result in the model card (quality).")
@click.option("--hints", "hint_counts", default="0", show_default=True, metavar="K,K,...",
              help="colorize: numbers of hints a simulated user gives (spots drawn uniformly, seeded per image, "
                   "the 5x5 mean of the truth there, radius 2.5): one row per colorizer and number.")
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True)
@user_errors
def evaluate(task, data, size, model, method, presets, gray, variants, compare, all_methods, pattern, border, missing, first_stage, seed,
             limit, fid_weights, no_fid, report, record, hint_counts, device):
    """Benchmark a model on held-out images, beside the classical baselines."""
    from tqdm import tqdm

    from ..evaluation.loops import evaluate as run
    from ..evaluation.loops import format_table, write_report

    try:
        counts = tuple(int(k) for k in hint_counts.split(","))
    except ValueError:
        raise InputError(f"--hints takes numbers of hints, e.g. 0,1,5,20, got {hint_counts!r}") from None
    if any(k < 0 or k > 1000 for k in counts):
        raise InputError(f"--hints: numbers of hints must be in 0..1000, got {hint_counts!r}")
    bar = tqdm(desc="evaluate", unit="img")

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.update(1)

    result = run(task, data, model=model, method=method, presets=presets, size=size, gray=gray, variants=variants,
                 compare=compare, all_methods=all_methods, pattern=pattern, border=border, missing=missing,
                 first_stage=first_stage, seed=seed, limit=limit, fid_weights=fid_weights, fid=not no_fid,
                 record=record, device=_device(device), progress=progress, hints=counts)
    bar.close()
    click.echo(format_table(result))
    if report:
        write_report(result, report)


# ------------------------------------------------------------------------------------- serve
@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on (0.0.0.0: every one).")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True)
@user_errors
def serve(host, port, device):
    """A web page to colorize photos with colour hints (FastAPI + uvicorn)."""
    try:
        import uvicorn
    except ImportError:
        raise InputError("the web page needs uvicorn and FastAPI: pip install 'chromaprior[web]'") from None
    from .web import create_app, is_loopback

    if not is_loopback(host):
        warnings.warn(f"listening on {host}: anyone who can reach this machine can use the page; any Host name is "
                      "accepted and only cross-origin requests (an Origin header of another site) are refused")
    click.echo(f"chromaprior: serving on http://{host}:{port}/ (Ctrl+C stops)", err=True)
    uvicorn.run(create_app(_device(device).type, host=host), host=host, port=port, log_level="warning")


# -------------------------------------------------------------------------------------- info
def _default_restorer(task: str) -> str:
    """The registry method ``demosaick`` / ``inpaint`` use without --method and --model."""
    from ..methods.learned import LEARNED, LEARNED_INPAINT
    from ..models.registry import DEFAULT_METHODS, METHODS

    learned = LEARNED if task == "demosaick" else LEARNED_INPAINT
    return learned if METHODS[learned].shipped else DEFAULT_METHODS["restore"]


@main.command()
@click.option("--model", type=click.Path(), default=None, help="Model folder (default: the shipped weights).")
@click.option("--task", type=click.Choice(["colorize", "demosaick", "inpaint", "restore"]), default="colorize",
              show_default=True, help="Which shipped model to describe when --model is not given: the default of "
              "colorize, demosaick or inpaint, or (restore) the HGM prior of their --method hgm.")
@click.option("--list", "list_", is_flag=True, help="List the shipped models (name, method, task, size).")
@click.option("--json", "as_json", is_flag=True, help="Print the whole model card as JSON.")
@user_errors
def info(model, task, list_, as_json):
    """Describe a model (its card); --json prints the raw card, --list the shipped models."""
    from ..models.checkpoint import model_files, read_card
    from ..models.registry import DEFAULT_METHODS, METHODS, resolve_model_path, shipped_model

    if list_:
        defaults = {DEFAULT_METHODS["colorize"]} | {_default_restorer(t) for t in ("demosaick", "inpaint")}
        for m in (m for m in METHODS.values() if m.shipped):
            size = sum(f.stat().st_size for f in model_files(shipped_model(m.name)) if f.exists()) / 1e6
            guide = read_card(shipped_model(m.name)).get("net", {}).get("guide")  # built on another model
            click.echo(f"{m.shipped:22} --method {m.name:18} {m.task:9} {size:5.2f} MB"
                       + (f" + {guide}" if guide else "") + ("  (default)" if m.name in defaults else ""))
        return
    if model is None and task in ("demosaick", "inpaint"):
        model = shipped_model(_default_restorer(task))
    card = read_card(resolve_model_path(model, "colorize" if task == "colorize" else "restore"))
    if as_json:
        click.echo(json.dumps(card, indent=2))
        return
    t = card.get("training", {})
    lift = (card.get("lift") or {}).get("name")
    lines = [
        f"model:      {resolve_model_path(model, 'colorize' if task == 'colorize' else 'restore')}",
        f"method:     {card.get('method')} ({card.get('task', 'colorize')})" + (f", lift {lift}" if lift else ""),
        f"parameters: {t['parameters']:,}" if isinstance(t.get("parameters"), int) else None,
        (f"trained:    {t.get('steps')} steps x {t.get('batch_size')} at {t.get('size')} px"
         + (f" on {t['images']} images" if t.get("images") else "")
         + (f", {t['seconds'] / 3600:.1f} h" if t.get("seconds") else "")
         + (f" ({t['device']})" if t.get("device") else "")) if t else None,
    ]
    quality = card.get("quality") or {}
    if quality:
        lines.append(f"measured:   {len(quality)} evaluation(s) recorded: {', '.join(list(quality)[:4])}"
                     + (", ..." if len(quality) > 4 else ""))
    lines.append("(chromaprior info --json prints the whole card)")
    for line in lines:
        if line:
            click.echo(line)


if __name__ == "__main__":  # pragma: no cover
    main()
