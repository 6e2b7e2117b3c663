"""multi-model-server 1.1.11's classes that this container replaces, in launcher/java/ (each file says why):
- ModelResponseDecoder.java, its decoder of worker responses: MMS's own kills the worker when a response arrives
  split inside a status code or a header (large batches, large answers);
- Model.java, how a worker's batch is taken from the queue: MMS's own makes a lone request wait the whole batch delay,
  and a delay of 0 end every batch at two requests.

The fixed classes are compiled once against MMS's jar with the JRE's own compiler module (Debian's and Ubuntu's
openjdk-17-jre-headless carry jdk.compiler; no JDK needed) and put first on MMS's class path. `python -m hf_serving
mms-fix` compiles them into launcher/java/classes at install and image build; where that copy is missing or was
compiled from other versions of the sources (a digest beside it says which), the launcher compiles them into its
runtime directory.
"""

from __future__ import annotations

import hashlib
import subprocess
from importlib.resources import files
from pathlib import Path

# Package data, beside this module; the compiled classes go next to it when the package's directory is writable.
SOURCE_DIR = Path(str(files("hf_serving.launcher") / "java"))
SOURCES = tuple(SOURCE_DIR / name for name in ("Model.java", "ModelResponseDecoder.java"))
PREBUILT = SOURCE_DIR / "classes"
_STAMP = "source.sha256"  # which sources a class directory was compiled from
COMPILE_TIMEOUT_S = 120.0


class MmsFixError(RuntimeError):
    """The fixed classes could not be compiled: MMS must not run without them."""


def source_digest() -> str:
    digest = hashlib.sha256()
    for source in SOURCES:
        digest.update(source.name.encode() + b"\0" + source.read_bytes() + b"\0")
    return digest.hexdigest()


def is_current(class_dir: Path) -> bool:
    stamp = class_dir / _STAMP
    return stamp.is_file() and stamp.read_text().strip() == source_digest()


def compile_into(class_dir: Path, java: str, mms_jar: Path) -> Path:
    """Compile the fixed classes against MMS's jar into class_dir; returns class_dir."""
    class_dir.mkdir(parents=True, exist_ok=True)
    command = [
        java,
        "-m",
        "jdk.compiler/com.sun.tools.javac.Main",
        "-nowarn",
        "-encoding",
        "UTF-8",
        "-cp",
        str(mms_jar),
        "-d",
        str(class_dir),
        *(str(source) for source in SOURCES),
    ]
    try:
        completed = subprocess.run(command, capture_output=True, text=True, timeout=COMPILE_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise MmsFixError(f"could not run {java} to compile {_names()}: {exc}") from exc
    if completed.returncode != 0:
        raise MmsFixError(
            f"compiling {_names()} failed (the JRE needs the jdk.compiler module, as "
            f"openjdk-17-jre-headless has): {(completed.stderr or completed.stdout).strip()[-800:]}"
        )
    (class_dir / _STAMP).write_text(source_digest() + "\n")
    return class_dir


def class_dir_for(runtime_dir: Path, java: str, mms_jar: Path) -> Path:
    """The directory to put first on MMS's class path: the prebuilt one when current, else one compiled now."""
    if is_current(PREBUILT):
        return PREBUILT
    return compile_into(runtime_dir / "mms-fix", java, mms_jar)


def _names() -> str:
    return ", ".join(source.name for source in SOURCES)
