"""model.tar.gz in SageMaker's layout, checked before it is written: `python -m hf_serving package`.

SageMaker extracts model.tar.gz into /opt/ml/model, so the model's own files (config.json, weights, tokenizer)
must sit at the archive's root, and the user's hooks, if any, in code/inference.py with an optional
code/requirements.txt. A model directory this container could not serve is refused here, with every problem
named, rather than on the endpoint after a ten-minute deployment.

    python -m hf_serving package MODEL_DIR [--code DIR] [--task TASK] -o model.tar.gz
    python -m hf_serving package --check model.tar.gz
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from hf_serving.errors import ConfigurationError
from hf_serving.tasks.base import Task
from hf_serving.tasks.registry import detect_task, read_config

CODE_DIR = "code"
# Any one of these sets is a tokenizer the server can use; tokenizer.json is what save_pretrained writes
# for fast tokenizers (the server needs one for answer offsets: WordPiece and BPE vocabularies convert).
TOKENIZER_FILE_SETS = (("tokenizer.json",), ("vocab.txt",), ("vocab.json", "merges.txt"))
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
WEIGHT_INDEXES = ("model.safetensors.index.json", "pytorch_model.bin.index.json")
# Left out of the archive: version control, editor and notebook litter, bytecode.
SKIPPED_NAMES = frozenset({".git", "__pycache__", ".ipynb_checkpoints", ".DS_Store", ".cache"})


class InvalidModel(Exception):
    """The directory or archive is not a model this container can serve; the message lists every problem."""


@dataclass(frozen=True)
class ModelReport:
    task: Task
    weights: tuple[str, ...]
    tokenizer: tuple[str, ...]
    code: tuple[str, ...]

    def describe(self) -> str:
        code = ", ".join(self.code) if self.code else "none (the container's default hooks)"
        return (
            f"task {self.task.value}; weights {', '.join(self.weights)}; tokenizer {', '.join(self.tokenizer)}; "
            f"code {code}"
        )


def check_model_dir(model_dir: Path, code_dir: Path | None = None, task: str | None = None) -> ModelReport:
    """What the server will find in this directory; InvalidModel naming every problem if it cannot serve it."""
    if not model_dir.is_dir():
        raise InvalidModel(f"{model_dir} is not a directory")
    problems: list[str] = []
    detected = _check_config(model_dir, task, problems)
    weights = _check_weights(model_dir, problems)
    tokenizer = _check_tokenizer(model_dir, problems)
    if code_dir is not None and (model_dir / CODE_DIR).exists():
        problems.append(f"{model_dir / CODE_DIR} exists and --code {code_dir} was given: keep one of the two")
    code = _check_code(code_dir if code_dir is not None else model_dir / CODE_DIR, problems)
    if problems or detected is None:
        raise InvalidModel(f"{model_dir} cannot be served:\n" + "\n".join(f"  - {p}" for p in problems))
    return ModelReport(detected, weights, tokenizer, code)


def _check_config(model_dir: Path, task: str | None, problems: list[str]) -> Task | None:
    try:
        read_config(model_dir)  # readable, whatever names the task
        return detect_task(model_dir, task).task
    except ConfigurationError as exc:
        problems.append(str(exc))
        return None


def _check_weights(model_dir: Path, problems: list[str]) -> tuple[str, ...]:
    for index_name in WEIGHT_INDEXES:
        index = model_dir / index_name
        if index.is_file():
            try:
                shards = sorted(set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values()))
            except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
                problems.append(f"{index_name} is not a readable weight index: {type(exc).__name__}: {exc}")
                return ()
            missing = [shard for shard in shards if not (model_dir / shard).is_file()]
            if missing:
                problems.append(f"{index_name} names shards that are missing: {', '.join(missing)}")
            return (index_name, *shards)
    found = tuple(name for name in WEIGHT_FILES if (model_dir / name).is_file())
    if not found:
        problems.append(
            f"no weights: expected one of {', '.join(WEIGHT_FILES + WEIGHT_INDEXES)} "
            f"(model.save_pretrained(dir) writes them)"
        )
    for name in found:
        if (model_dir / name).stat().st_size == 0:
            problems.append(f"{name} is empty")
    return found


def _check_tokenizer(model_dir: Path, problems: list[str]) -> tuple[str, ...]:
    for names in TOKENIZER_FILE_SETS:
        if all((model_dir / name).is_file() for name in names):
            if names == ("tokenizer.json",):
                try:
                    json.loads((model_dir / "tokenizer.json").read_text(encoding="utf-8"))
                except (OSError, ValueError) as exc:
                    problems.append(f"tokenizer.json is not readable JSON: {exc}")
            return names
    sets = " or ".join(" + ".join(names) for names in TOKENIZER_FILE_SETS)
    problems.append(f"no tokenizer: expected {sets} (tokenizer.save_pretrained(dir) writes them)")
    return ()


def _check_code(code_dir: Path, problems: list[str]) -> tuple[str, ...]:
    if not code_dir.exists():
        return ()
    if not code_dir.is_dir():
        problems.append(f"{code_dir} is not a directory")
        return ()
    files = tuple(sorted(str(p.relative_to(code_dir)) for p in _files_under(code_dir)))
    if not any(name.endswith(".py") for name in files):
        problems.append(
            f"{code_dir} holds no .py file: it should hold inference.py (or the file SAGEMAKER_PROGRAM names)"
        )
    for name in files:
        if name.endswith(".py"):
            try:
                compile((code_dir / name).read_bytes(), f"code/{name}", "exec")
            except (SyntaxError, ValueError) as exc:
                problems.append(f"code/{name} does not compile: {exc}")
    return tuple(f"{CODE_DIR}/{name}" for name in files)


def _files_under(root: Path) -> list[Path]:
    """Files below root (symlinks followed, as a Hugging Face cache snapshot is made of them), litter left out."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED_NAMES)
        found.extend(
            Path(dirpath) / name
            for name in sorted(filenames)
            if name not in SKIPPED_NAMES and not name.endswith(".pyc")
        )
    return found


def write_archive(model_dir: Path, output: Path, code_dir: Path | None = None, task: str | None = None) -> ModelReport:
    """Checks the model, then writes output atomically (a failed run leaves no half-written archive)."""
    report = check_model_dir(model_dir, code_dir, task)
    output = output.resolve()
    entries = [(path, str(path.relative_to(model_dir))) for path in _files_under(model_dir) if path.resolve() != output]
    if code_dir is not None:
        entries += [(path, f"{CODE_DIR}/{path.relative_to(code_dir)}") for path in _files_under(code_dir)]
    output.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(prefix=".model.", suffix=".tar.gz.partial", dir=output.parent)
    os.close(handle)
    try:
        with tarfile.open(partial, "w:gz", dereference=True) as archive:
            for path, name in entries:
                archive.add(path, arcname=name, recursive=False, filter=_normalised)
        os.replace(partial, output)
    finally:
        Path(partial).unlink(missing_ok=True)
    return report


def _normalised(info: tarfile.TarInfo) -> tarfile.TarInfo:
    # The builder's user and group mean nothing on the endpoint; every file readable by the server's user.
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    info.mode = 0o644
    return info


def check_archive(archive_path: Path, task: str | None = None) -> ModelReport:
    """Extracts model.tar.gz as SageMaker would, into a temporary directory, and checks what lands there."""
    try:
        with tarfile.open(archive_path, "r:*") as archive:
            members = archive.getmembers()
            _check_members(members)
            with tempfile.TemporaryDirectory(prefix="model-check-") as extracted:
                wanted = [m for m in members if m.isfile() or m.isdir()]
                if hasattr(tarfile, "data_filter"):  # Python >= 3.11.4; older ones rely on the checks above
                    archive.extractall(extracted, members=wanted, filter="data")
                else:
                    archive.extractall(extracted, members=wanted)
                return check_model_dir(Path(extracted), None, task)
    except (OSError, tarfile.TarError) as exc:
        raise InvalidModel(f"{archive_path} is not a readable tar.gz: {exc}") from None


def _check_members(members: list[tarfile.TarInfo]) -> None:
    unsafe = [
        m.name
        for m in members
        if m.issym()
        or m.islnk()
        or m.isdev()
        or PurePosixPath(m.name).is_absolute()
        or ".." in PurePosixPath(m.name).parts
    ]
    if unsafe:
        raise InvalidModel(f"unsafe entries (links, devices, absolute or parent paths): {', '.join(unsafe[:5])}")
    paths = [PurePosixPath(m.name).parts for m in members if m.isfile()]  # parts drop a leading "./"
    nested = sorted({parts[0] for parts in paths if len(parts) == 2 and parts[1] == "config.json"})
    if ("config.json",) not in paths and nested:
        raise InvalidModel(
            f"config.json is under {nested[0]}/ in the archive: SageMaker extracts it into "
            f"/opt/ml/model, where config.json must be at the top; package the folder itself: "
            f"python -m hf_serving package {nested[0]} -o model.tar.gz"
        )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m hf_serving package", description=__doc__.split("\n\n")[0])
    parser.add_argument("model_dir", type=Path, nargs="?", help="the model directory (save_pretrained's output)")
    parser.add_argument(
        "--code", type=Path, help="a directory with inference.py (and requirements.txt): becomes code/ in the archive"
    )
    parser.add_argument(
        "--task",
        help="the task, when neither the layout, README.md's pipeline_tag nor config.json's "
        "architectures say it (as HF_TASK)",
    )
    parser.add_argument("-o", "--output", type=Path, help="the archive to write, e.g. model.tar.gz")
    parser.add_argument("--check", type=Path, metavar="ARCHIVE", help="check an existing model.tar.gz instead")
    args = parser.parse_args(argv)
    if (args.check is None) == (args.model_dir is None) or (args.model_dir is not None and args.output is None):
        parser.error("give MODEL_DIR with -o ARCHIVE, or --check ARCHIVE")
    try:
        if args.check is not None:
            report = check_archive(args.check, args.task)
            print(f"{args.check}: ok: {report.describe()}")
        else:
            report = write_archive(args.model_dir, args.output, args.code, args.task)
            size_mb = args.output.stat().st_size / 1e6
            print(f"{args.output}: {size_mb:.1f} MB: {report.describe()}")
    except InvalidModel as exc:
        print(f"package: refused: {exc}", file=sys.stderr)
        return 1
    return 0
