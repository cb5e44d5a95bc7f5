"""Load a model from a catalog name, a flopgrid spec file, or a Hugging Face config.json.

Hugging Face field names understood: Llama / Mistral / Mixtral / Qwen2 (num_hidden_layers,
hidden_size, num_attention_heads, num_key_value_heads, intermediate_size, ...), GPT-2
(n_layer, n_embd, n_head, n_positions, n_inner), GPT-NeoX (rotary, untied, biases), MPT
(n_layers, d_model, expansion_ratio, max_seq_len) and DeepSeek-V2/V3 (MLA + MoE fields).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from flopgrid.catalog.model_spec import ModelSpec
from flopgrid.catalog.models import MODELS
from flopgrid.catalog.spec_files import format_validation_error, read_mapping
from flopgrid.errors import UserInputError, did_you_mean

SPEC_FIELDS = set(ModelSpec.model_fields)


class SpecWarning(UserWarning):
    """A spec was read but something in it was ignored."""


class SeqLenWarning(SpecWarning):
    """A Hugging Face config.json does not state the training sequence length: a default
    was assumed (a `--seq-len` given on the command line silences it)."""


# A Hugging Face config.json states a model's context window (`max_position_embeddings`:
# 131,072 for Llama 3.1), not the sequence length it is trained at (8,192 for Llama 3
# pre-training, Dubey et al. 2024, Sec. 3.4). Fields that do state the training length:
STATED_SEQ_LEN_FIELDS = ("seq_length", "max_seq_len", "n_positions", "n_ctx")
# Assumed otherwise (with a SeqLenWarning): Llama 2's training length (Touvron et al. 2023,
# Table 1), capped by the context window.
DEFAULT_HF_SEQ_LEN = 4096


def get_model(name: str) -> ModelSpec:
    """A catalog model by name (case-insensitive), with a did-you-mean on a miss."""
    key = name.lower().strip()
    if key in MODELS:
        return MODELS[key]
    raise UserInputError(f"unknown model {name!r}{did_you_mean(key, MODELS)}; see `flopgrid models list`, or give a spec file")


def load_model(name_or_path: str | dict[str, Any] | ModelSpec) -> ModelSpec:
    """A model from a catalog name, a path to a spec / HF config file, or a mapping."""
    if isinstance(name_or_path, ModelSpec):
        return name_or_path
    if isinstance(name_or_path, dict):
        return model_from_mapping(name_or_path, "model")
    if name_or_path.lower().strip() in MODELS:
        return MODELS[name_or_path.lower().strip()]
    path = Path(name_or_path)
    if path.suffix.lower() in (".json", ".yaml", ".yml") or path.exists():
        if not path.exists():
            raise UserInputError(f"model file {str(path)!r} does not exist")
        data = read_mapping(path, "model file")
        data.setdefault("name", path.stem if path.name != "config.json" else path.parent.name or "hf-model")
        return model_from_mapping(data, str(path))
    return get_model(name_or_path)


def is_hf_config(data: dict[str, Any]) -> bool:
    return "model_type" in data or "architectures" in data or (
        "n_layers" not in data and any(k in data for k in ("num_hidden_layers", "n_layer", "hidden_size", "n_embd"))
    )


def model_from_mapping(data: dict[str, Any], origin: str) -> ModelSpec:
    """Validate a mapping as a spec (our form or Hugging Face's), one-line errors."""
    if is_hf_config(data):
        spec_data = hf_to_spec(data)
    else:
        unknown = sorted(set(data) - SPEC_FIELDS)
        if unknown:
            warnings.warn(f"{origin}: ignoring unknown field(s) {', '.join(unknown)}", SpecWarning, stacklevel=2)
        spec_data = {k: v for k, v in data.items() if k in SPEC_FIELDS}
    try:
        return ModelSpec(**spec_data)
    except ValidationError as exc:
        raise UserInputError(f"{origin}: {format_validation_error(exc)}") from None


def _first(data: dict[str, Any], *keys: str, default: Any = None) -> Any:
    for k in keys:
        if data.get(k) is not None:
            return data[k]
    return default


def hf_to_spec(cfg: dict[str, Any]) -> dict[str, Any]:
    """Translate a Hugging Face config.json mapping into flopgrid spec fields."""
    mtype = str(cfg.get("model_type", "")).lower()
    out: dict[str, Any] = {"name": cfg.get("name") or cfg.get("_name_or_path") or mtype or "hf-model"}
    out["n_layers"] = _first(cfg, "num_hidden_layers", "n_layer", "n_layers", "num_layers")
    out["d_model"] = _first(cfg, "hidden_size", "n_embd", "d_model")
    out["n_heads"] = _first(cfg, "num_attention_heads", "n_head", "n_heads")
    out["vocab_size"] = cfg.get("vocab_size")
    out["seq_len"] = _first(cfg, *STATED_SEQ_LEN_FIELDS)
    window = cfg.get("max_position_embeddings")
    if out["seq_len"] is None and isinstance(window, int) and window > 0:
        out["seq_len"] = min(window, DEFAULT_HF_SEQ_LEN)
        warnings.warn(f"{out['name']}: config.json states no training sequence length (max_position_embeddings "
                      f"{window:,} is the context window): assuming seq_len {out['seq_len']:,}; give --seq-len",
                      SeqLenWarning, stacklevel=3)
    if cfg.get("num_key_value_heads") is not None:
        out["n_kv_heads"] = cfg["num_key_value_heads"]
    if cfg.get("head_dim") is not None:
        out["head_dim"] = cfg["head_dim"]
    act = str(_first(cfg, "hidden_act", "activation_function", default="")).lower()
    gated = act in ("silu", "swiglu", "swish") or mtype in ("llama", "mistral", "mixtral", "qwen2", "qwen2_moe", "deepseek_v3", "deepseek_v2", "qwen3", "qwen3_moe")
    out["ffn"] = "swiglu" if gated else "gelu"
    if mtype == "mpt" or "expansion_ratio" in cfg:
        out["d_ff"] = int(cfg.get("expansion_ratio", 4) * out["d_model"])
        out["position_embedding"] = "alibi" if (cfg.get("attn_config") or {}).get("alibi", True) else "learned"
        out["bias"] = not cfg.get("no_bias", True)
        out["tied_embeddings"] = True
    else:
        d_ff = _first(cfg, "intermediate_size", "n_inner", "ffn_hidden_size")
        if d_ff is not None:
            out["d_ff"] = d_ff
        default_tied = mtype in ("gpt2",)
        out["tied_embeddings"] = bool(cfg.get("tie_word_embeddings", default_tied))
        if mtype == "gpt2" or "n_positions" in cfg and "max_position_embeddings" not in cfg:
            out["position_embedding"] = "learned"
            out["bias"] = True
        elif mtype == "gpt_neox":
            out["bias"] = True
    n_experts = _first(cfg, "num_local_experts", "n_routed_experts", "num_experts")
    if n_experts:
        dense_layers = int(cfg.get("first_k_dense_replace", 0) or 0)
        out["moe"] = {
            "n_experts": n_experts,
            "top_k": _first(cfg, "num_experts_per_tok", "moe_top_k", default=2),
            "d_ff_expert": _first(cfg, "moe_intermediate_size", "intermediate_size"),
            "n_shared_experts": int(cfg.get("n_shared_experts", 0) or 0),
            "n_dense_layers": dense_layers,
        }
    if cfg.get("kv_lora_rank"):
        out["mla"] = {
            "q_lora_rank": int(cfg.get("q_lora_rank") or 0),
            "kv_lora_rank": cfg["kv_lora_rank"],
            "qk_nope_head_dim": cfg.get("qk_nope_head_dim", 128),
            "qk_rope_head_dim": cfg.get("qk_rope_head_dim", 64),
            "v_head_dim": cfg.get("v_head_dim", 128),
        }
        out.setdefault("head_dim", cfg.get("v_head_dim", 128))
    out["source"] = f"Hugging Face config.json (model_type {mtype or 'unknown'})"
    missing = [k for k in ("n_layers", "d_model", "n_heads", "vocab_size", "seq_len") if out.get(k) is None]
    if missing:
        raise UserInputError(f"Hugging Face config lacks {', '.join(missing)} (no field that maps to it)")
    return out
