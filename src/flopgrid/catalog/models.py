"""The model catalog, in the DESIGN.md spec form, each entry with its source.

Shapes are the published ones; where a paper's headline parameter count uses another
convention the entry's `source` says so.
"""

from __future__ import annotations

from flopgrid.catalog.model_spec import MLASpec, ModelSpec, MoESpec

_SC21 = "Narayanan et al. 2021 (Megatron-LM SC21) Table 1"
_MPT = "mosaicml/llm-foundry scripts/train/yamls/pretrain/mpt-*.yaml (ALiBi, no biases, tied)"


def _megatron(size: str, L: int, d: int, H: int) -> ModelSpec:
    return ModelSpec(name=f"megatron-{size}", n_layers=L, d_model=d, n_heads=H, vocab_size=51200, seq_len=2048,
                     bias=True, position_embedding="learned", source=_SC21)


def _mpt(size: str, L: int, d: int, H: int, T: int = 2048) -> ModelSpec:
    return ModelSpec(name=f"mpt-{size}", n_layers=L, d_model=d, n_heads=H, vocab_size=50368, seq_len=T,
                     position_embedding="alibi", source=_MPT)


_ENTRIES: list[ModelSpec] = [
    ModelSpec(name="gpt2-124m", n_layers=12, d_model=768, n_heads=12, vocab_size=50257, seq_len=1024, bias=True,
              position_embedding="learned", source="Radford et al. 2019; HF openai-community/gpt2 config.json"),
    ModelSpec(name="gpt3-175b", n_layers=96, d_model=12288, n_heads=96, vocab_size=50257, seq_len=2048, bias=True,
              position_embedding="learned", source="Brown et al. 2020 (GPT-3) Table 2.1"),
    ModelSpec(name="gopher-280b", n_layers=80, d_model=16384, n_heads=128, head_dim=128, vocab_size=32000,
              seq_len=2048, position_embedding="none",
              source="Rae et al. 2021 (Gopher) Table 1; the 280B headline also counts Transformer-XL relative-position "
                     "projections (about d_model^2 per layer), which this shape-only spec omits (258B)"),
    ModelSpec(name="mt-nlg-530b", n_layers=105, d_model=20480, n_heads=128, vocab_size=51200, seq_len=2048, bias=True,
              position_embedding="learned", source="Smith et al. 2022 (MT-NLG) §3; PaLM Table 3"),
    ModelSpec(name="palm-8b", n_layers=32, d_model=4096, n_heads=16, n_kv_heads=1, head_dim=256, d_ff=16384,
              ffn="swiglu", vocab_size=256000, seq_len=2048, source="Chowdhery et al. 2022 (PaLM) Table 1"),
    ModelSpec(name="palm-62b", n_layers=64, d_model=8192, n_heads=32, n_kv_heads=1, head_dim=256, d_ff=32768,
              ffn="swiglu", vocab_size=256000, seq_len=2048, source="Chowdhery et al. 2022 (PaLM) Table 1"),
    ModelSpec(name="palm-540b", n_layers=118, d_model=18432, n_heads=48, n_kv_heads=1, head_dim=256, d_ff=73728,
              ffn="swiglu", vocab_size=256000, seq_len=2048, source="Chowdhery et al. 2022 (PaLM) Table 1 (540.35B)"),
    _megatron("1.7b", 24, 2304, 24),
    _megatron("3.6b", 30, 3072, 32),
    _megatron("7.5b", 36, 4096, 32),
    _megatron("18.4b", 40, 6144, 48),
    _megatron("39.1b", 48, 8192, 64),
    _megatron("76.1b", 60, 10240, 80),
    _megatron("145.6b", 80, 12288, 96),
    _megatron("310.1b", 96, 16384, 128),
    _megatron("529.6b", 105, 20480, 128),
    _megatron("1t", 128, 25600, 160),
    ModelSpec(name="llama3-8b", n_layers=32, d_model=4096, n_heads=32, n_kv_heads=8, d_ff=14336, ffn="swiglu",
              vocab_size=128256, seq_len=8192, tied_embeddings=False,
              source="Llama 3 herd (arXiv:2407.21783) Table 3; HF meta-llama/Meta-Llama-3-8B config.json"),
    ModelSpec(name="llama3-70b", n_layers=80, d_model=8192, n_heads=64, n_kv_heads=8, d_ff=28672, ffn="swiglu",
              vocab_size=128256, seq_len=8192, tied_embeddings=False, source="Llama 3 herd (arXiv:2407.21783) Table 3"),
    ModelSpec(name="llama3-405b", n_layers=126, d_model=16384, n_heads=128, n_kv_heads=8, d_ff=53248, ffn="swiglu",
              vocab_size=128256, seq_len=8192, tied_embeddings=False, source="Llama 3 herd (arXiv:2407.21783) Table 3"),
    _mpt("1b", 24, 2048, 16),
    _mpt("3b", 32, 2560, 20),
    _mpt("7b", 32, 4096, 32),
    _mpt("30b", 48, 7168, 64, T=8192),
    _mpt("70b", 80, 8192, 64),
    ModelSpec(name="mixtral-8x7b", n_layers=32, d_model=4096, n_heads=32, n_kv_heads=8, d_ff=14336, ffn="swiglu",
              vocab_size=32000, seq_len=4096, tied_embeddings=False,
              moe=MoESpec(n_experts=8, top_k=2, d_ff_expert=14336),
              source="Jiang et al. 2024 (Mixtral of Experts): 46.7B total, 12.9B active; HF config.json"),
    ModelSpec(name="mixtral-8x22b", n_layers=56, d_model=6144, n_heads=48, n_kv_heads=8, d_ff=16384, ffn="swiglu",
              vocab_size=32768, seq_len=4096, tied_embeddings=False,
              moe=MoESpec(n_experts=8, top_k=2, d_ff_expert=16384),
              source="Mistral AI Mixtral-8x22B-v0.1 config.json: 141B total, 39B active"),
    ModelSpec(name="deepseek-v3", n_layers=61, d_model=7168, n_heads=128, head_dim=128, d_ff=18432, ffn="swiglu",
              vocab_size=129280, seq_len=4096, tied_embeddings=False,
              moe=MoESpec(n_experts=256, top_k=8, d_ff_expert=2048, n_shared_experts=1, n_dense_layers=3),
              mla=MLASpec(q_lora_rank=1536, kv_lora_rank=512, qk_nope_head_dim=128, qk_rope_head_dim=64, v_head_dim=128),
              source="DeepSeek-V3 technical report (arXiv:2412.19437) §2, §4.2; HF config.json. MLA counted exactly "
                     "(low-rank q and kv projections; scores over 192-dim heads, values 128-dim); the 14B "
                     "multi-token-prediction module is not part of the 671B main model and is omitted"),
]

MODELS: dict[str, ModelSpec] = {m.name: m for m in _ENTRIES}
