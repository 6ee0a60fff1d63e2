"""The bundled model: assembled once, verified by size and SHA-256, safe under concurrency."""

import hashlib
import multiprocessing
import os
from pathlib import Path

import pytest

from bot.asr.errors import ModelError
from bot.asr.model_files import (
    BUNDLED_SHA256,
    BUNDLED_SIZE,
    STAMP_NAME,
    assemble_model,
    ensure_bundled_model,
    is_stamped,
    resolve_model,
)


def test_bundled_model_is_assembled_with_the_published_size_and_hash(asr_cache_dir: Path) -> None:
    model_dir = ensure_bundled_model(asr_cache_dir)
    model_bin = model_dir / "model.bin"
    assert model_bin.stat().st_size == BUNDLED_SIZE
    assert hashlib.sha256(model_bin.read_bytes()).hexdigest() == BUNDLED_SHA256
    assert {"config.json", "tokenizer.json", "vocabulary.txt"} <= {
        p.name for p in model_dir.iterdir()
    }


def test_a_verified_model_is_reused_as_it_is(asr_cache_dir: Path) -> None:
    model_bin = ensure_bundled_model(asr_cache_dir) / "model.bin"
    before = model_bin.stat()
    again = ensure_bundled_model(asr_cache_dir) / "model.bin"
    assert (again.stat().st_ino, again.stat().st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert is_stamped(again.parent)  # the stamp is what spares the re-hash on every start


def test_a_damaged_cached_model_is_assembled_again(tmp_path: Path) -> None:
    model_bin = ensure_bundled_model(tmp_path) / "model.bin"
    with model_bin.open("r+b") as handle:
        handle.truncate(1000)
    assert not is_stamped(model_bin.parent)
    ensure_bundled_model(tmp_path)
    assert model_bin.stat().st_size == BUNDLED_SIZE
    assert is_stamped(model_bin.parent)


def _parts(tmp_path: Path) -> list[Path]:
    parts = [tmp_path / "model.bin.part1", tmp_path / "model.bin.part2"]
    parts[0].write_bytes(b"first half ")
    parts[1].write_bytes(b"second half")
    return parts


def test_parts_with_the_wrong_hash_are_refused_and_leave_no_file(tmp_path: Path) -> None:
    dest = tmp_path / "out" / "model.bin"
    dest.parent.mkdir()
    with pytest.raises(ModelError, match="sha256") as caught:
        assemble_model(_parts(tmp_path), dest, size=22, sha256="0" * 64)
    assert "0" * 64 in str(caught.value)
    assert list(dest.parent.iterdir()) == []


def test_parts_of_the_wrong_size_are_refused(tmp_path: Path) -> None:
    parts = _parts(tmp_path)
    good_sha = hashlib.sha256(b"first half second half").hexdigest()
    with pytest.raises(ModelError, match="22 bytes"):
        assemble_model(parts, tmp_path / "model.bin", size=999, sha256=good_sha)
    assert not (tmp_path / "model.bin").exists()


def test_a_missing_part_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="model part missing"):
        assemble_model([tmp_path / "nope.part1"], tmp_path / "model.bin", size=1, sha256="0")


def _assemble_in_child(cache_dir: str, go: "multiprocessing.synchronize.Event") -> None:
    go.wait(30)
    ensure_bundled_model(Path(cache_dir))


@pytest.mark.slow
def test_two_processes_assembling_at_once_leave_one_valid_model(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    go = context.Event()
    children = [
        context.Process(target=_assemble_in_child, args=(str(tmp_path), go)) for _ in range(2)
    ]
    for child in children:
        child.start()
    go.set()
    for child in children:
        child.join(120)
    assert [child.exitcode for child in children] == [0, 0]
    model_dir = tmp_path / "whisper-base-ct2"
    assert hashlib.sha256((model_dir / "model.bin").read_bytes()).hexdigest() == BUNDLED_SHA256
    leftovers = [p.name for p in model_dir.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []
    assert (model_dir / STAMP_NAME).is_file()


def test_base_or_empty_setting_means_the_bundled_model(asr_cache_dir: Path) -> None:
    bundled = str(asr_cache_dir / "whisper-base-ct2")
    assert resolve_model("base", asr_cache_dir) == bundled
    assert resolve_model("", asr_cache_dir) == bundled


def test_a_model_directory_setting_is_used_as_it_is(asr_cache_dir: Path) -> None:
    model_dir = ensure_bundled_model(asr_cache_dir)
    assert resolve_model(str(model_dir), asr_cache_dir) == str(model_dir)


def test_a_size_name_is_left_for_faster_whisper_to_download(tmp_path: Path) -> None:
    assert resolve_model("large-v3", tmp_path) == "large-v3"
    assert os.listdir(tmp_path) == []  # nothing assembled for a size name


def test_a_missing_model_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"no CTranslate2 model\.bin"):
        resolve_model(str(tmp_path / "missing"), tmp_path)


def test_an_unknown_model_name_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not a model directory or a known size"):
        resolve_model("gigantic", tmp_path)
