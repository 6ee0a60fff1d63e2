"""Convert a CTranslate2 Whisper model (model.bin) into an openai-whisper checkpoint (.pt)."""

import argparse
import os
import re
import struct
from pathlib import Path

import numpy as np

from bot.asr.errors import ModelError
from bot.asr.model_files import ensure_bundled_model, file_lock

CHECKPOINT_NAME = "whisper-base-openai.pt"
# Type ids in CTranslate2's DataType enum (include/ctranslate2/types.h), in order.
Weights = dict[str, np.ndarray]
_DTYPES = (np.float32, np.int8, np.int16, np.int32, np.float16)


def read_ct2_variables(model_bin: Path) -> Weights:
    """Parse model.bin (binary version 6): a header, then name/shape/dtype/bytes per variable."""
    buf = model_bin.read_bytes()
    offset = 0

    def take(fmt: str) -> int:
        nonlocal offset
        (value,) = struct.unpack_from(fmt, buf, offset)
        offset += struct.calcsize(fmt)
        return int(value)

    def take_string() -> str:
        nonlocal offset
        length = take("H")  # includes the trailing NUL
        text = buf[offset : offset + length - 1].decode("utf-8")
        offset += length
        return text

    version = take("I")
    if version < 5:
        raise ModelError(f"{model_bin}: CTranslate2 binary version {version} is not supported")
    spec_name, _revision = take_string(), take("I")
    if spec_name != "WhisperSpec":
        raise ModelError(f"{model_bin}: a {spec_name}, not a Whisper model")
    variables: Weights = {}
    for _ in range(take("I")):
        name = take_string()
        shape = [take("I") for _ in range(take("B"))]
        type_id, num_bytes = take("B"), take("I")
        if type_id >= len(_DTYPES):
            raise ModelError(f"{model_bin}: {name} has an unsupported dtype id {type_id}")
        dtype = np.dtype(_DTYPES[type_id])
        count = num_bytes // dtype.itemsize
        variables[name] = np.frombuffer(buf, dtype, count, offset).reshape(shape)
        offset += num_bytes
    for _ in range(take("I")):
        alias, target = take_string(), take_string()
        variables[alias] = variables[target]
    if any(name.endswith("weight_scale") for name in variables):
        raise ModelError(f"{model_bin}: a quantized model; convert a float16/float32 one")
    return variables


def _count_layers(variables: Weights, stack: str) -> int:
    pattern = re.compile(rf"^{stack}/layer_(\d+)/")
    return 1 + max(int(m.group(1)) for name in variables if (m := pattern.match(name)))


def _attention(src: Weights, prefix: str, out: str, fused_qkv: bool) -> Weights:
    """CTranslate2 fuses q|k|v (self) or k|v (cross); openai-whisper's key has no bias."""
    if fused_qkv:
        q_w, k_w, v_w = np.split(src[f"{prefix}/linear_0/weight"], 3)
        q_b, _k_b, v_b = np.split(src[f"{prefix}/linear_0/bias"], 3)
        out_proj = "linear_1"
    else:
        q_w, q_b = src[f"{prefix}/linear_0/weight"], src[f"{prefix}/linear_0/bias"]
        k_w, v_w = np.split(src[f"{prefix}/linear_1/weight"], 2)
        _k_b, v_b = np.split(src[f"{prefix}/linear_1/bias"], 2)
        out_proj = "linear_2"
    return {
        f"{out}.query.weight": q_w,
        f"{out}.query.bias": q_b,
        f"{out}.key.weight": k_w,
        f"{out}.value.weight": v_w,
        f"{out}.value.bias": v_b,
        f"{out}.out.weight": src[f"{prefix}/{out_proj}/weight"],
        f"{out}.out.bias": src[f"{prefix}/{out_proj}/bias"],
    }


def _norm(src: Weights, prefix: str, out: str) -> Weights:
    return {f"{out}.weight": src[f"{prefix}/gamma"], f"{out}.bias": src[f"{prefix}/beta"]}


def _mlp(src: Weights, prefix: str, out: str) -> Weights:
    return {
        f"{out}.mlp.0.weight": src[f"{prefix}/linear_0/weight"],
        f"{out}.mlp.0.bias": src[f"{prefix}/linear_0/bias"],
        f"{out}.mlp.2.weight": src[f"{prefix}/linear_1/weight"],
        f"{out}.mlp.2.bias": src[f"{prefix}/linear_1/bias"],
        **_norm(src, f"{prefix}/layer_norm", f"{out}.mlp_ln"),
    }


def convert_variables(src: Weights) -> tuple[dict[str, int], Weights]:
    """Rename and split CTranslate2 variables into openai-whisper's (dims, state_dict)."""
    n_audio_layer, n_text_layer = _count_layers(src, "encoder"), _count_layers(src, "decoder")
    dims = {
        "n_mels": int(src["encoder/conv1/weight"].shape[1]),
        "n_audio_ctx": int(src["encoder/position_encodings/encodings"].shape[0]),
        "n_audio_state": int(src["encoder/conv1/weight"].shape[0]),
        "n_audio_head": int(src["encoder/num_heads"]),
        "n_audio_layer": n_audio_layer,
        "n_vocab": int(src["decoder/embeddings/weight"].shape[0]),
        "n_text_ctx": int(src["decoder/position_encodings/encodings"].shape[0]),
        "n_text_state": int(src["decoder/embeddings/weight"].shape[1]),
        "n_text_head": int(src["decoder/num_heads"]),
        "n_text_layer": n_text_layer,
    }
    state: Weights = {
        "encoder.conv1.weight": src["encoder/conv1/weight"],
        "encoder.conv1.bias": src["encoder/conv1/bias"],
        "encoder.conv2.weight": src["encoder/conv2/weight"],
        "encoder.conv2.bias": src["encoder/conv2/bias"],
        "encoder.positional_embedding": src["encoder/position_encodings/encodings"],
        **_norm(src, "encoder/layer_norm", "encoder.ln_post"),
        "decoder.token_embedding.weight": src["decoder/embeddings/weight"],
        "decoder.positional_embedding": src["decoder/position_encodings/encodings"],
        **_norm(src, "decoder/layer_norm", "decoder.ln"),
    }
    for i in range(n_audio_layer):
        layer, block = f"encoder/layer_{i}", f"encoder.blocks.{i}"
        state |= _attention(src, f"{layer}/self_attention", f"{block}.attn", fused_qkv=True)
        state |= _norm(src, f"{layer}/self_attention/layer_norm", f"{block}.attn_ln")
        state |= _mlp(src, f"{layer}/ffn", block)
    for i in range(n_text_layer):
        layer, block = f"decoder/layer_{i}", f"decoder.blocks.{i}"
        state |= _attention(src, f"{layer}/self_attention", f"{block}.attn", fused_qkv=True)
        state |= _norm(src, f"{layer}/self_attention/layer_norm", f"{block}.attn_ln")
        state |= _attention(src, f"{layer}/attention", f"{block}.cross_attn", fused_qkv=False)
        state |= _norm(src, f"{layer}/attention/layer_norm", f"{block}.cross_attn_ln")
        state |= _mlp(src, f"{layer}/ffn", block)
    return dims, state


def convert_model_dir(ct2_dir: Path, checkpoint: Path) -> Path:
    """Write `checkpoint` (what whisper.load_model reads) from a CTranslate2 model directory."""
    import torch  # the openai-whisper extra: imported only when converting

    dims, state = convert_variables(read_ct2_variables(ct2_dir / "model.bin"))
    tensors = {
        name: torch.from_numpy(np.array(value, dtype=np.float32)) for name, value in state.items()
    }
    tmp = checkpoint.with_name(f".{checkpoint.name}.{os.getpid()}.tmp")
    try:
        torch.save({"dims": dims, "model_state_dict": tensors}, tmp)
        os.replace(tmp, checkpoint)
    finally:
        tmp.unlink(missing_ok=True)
    return checkpoint


def ensure_openai_checkpoint(cache_dir: Path) -> Path:
    """The bundled base model as an openai-whisper checkpoint, converted once per cache dir."""
    checkpoint = cache_dir / CHECKPOINT_NAME
    ct2_dir = ensure_bundled_model(cache_dir)
    with file_lock(cache_dir / f".{CHECKPOINT_NAME}.lock"):
        source_mtime_ns = (ct2_dir / "model.bin").stat().st_mtime_ns
        if checkpoint.is_file() and checkpoint.stat().st_mtime_ns > source_mtime_ns:
            return checkpoint
        return convert_model_dir(ct2_dir, checkpoint)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("ct2_dir", type=Path, help="directory holding model.bin")
    parser.add_argument("checkpoint", type=Path, help="the .pt file to write")
    args = parser.parse_args(argv)
    convert_model_dir(args.ct2_dir, args.checkpoint)


if __name__ == "__main__":
    main()
