"""A small GPT in plain PyTorch, in the style of nanoGPT (Karpathy), to be metered.

Pre-norm decoder blocks (LayerNorm without bias, causal self-attention, GELU MLP of width
4·d_model), learned position embedding, output head tied to the token embedding. The
attention is written out as two matmuls (Q·K^T and A·V) over the full T x T matrix with a
causal mask, not with `scaled_dot_product_attention`: PyTorch's FlopCounterMode counts the
fused CPU attention kernels as zero FLOPs, and the written-out form is also exactly what
DESIGN.md's `attention = full` convention counts (12·L·H·Q·T per token).

`GPTConfig.model_spec()` gives the flopgrid model spec of the same network, so the meter's
analytic FLOPs per token (`flopgrid.flops.model_flops_per_token`) describe this module.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from flopgrid.catalog.model_spec import ModelSpec


@dataclass(frozen=True)
class GPTConfig:
    n_layers: int = 4
    d_model: int = 128
    n_heads: int = 4
    vocab_size: int = 256  # bytes
    seq_len: int = 128

    def model_spec(self) -> ModelSpec:
        """The flopgrid spec of this network (learned positions, no biases, tied head)."""
        return ModelSpec(name=f"gpt-{self.n_layers}l-{self.d_model}d", n_layers=self.n_layers,
                         d_model=self.d_model, n_heads=self.n_heads, vocab_size=self.vocab_size,
                         seq_len=self.seq_len, ffn="gelu", tied_embeddings=True, bias=False,
                         position_embedding="learned", source="flopgrid.examples.gpt")


SIZES: dict[str, GPTConfig] = {
    "tiny": GPTConfig(n_layers=2, d_model=64, n_heads=2, seq_len=64),
    "small": GPTConfig(),
}


class CausalSelfAttention(nn.Module):
    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.n_heads = cfg.n_heads
        self.qkv = nn.Linear(cfg.d_model, 3 * cfg.d_model, bias=False)
        self.out = nn.Linear(cfg.d_model, cfg.d_model, bias=False)
        mask = torch.tril(torch.ones(cfg.seq_len, cfg.seq_len, dtype=torch.bool))
        self.register_buffer("mask", mask.view(1, 1, cfg.seq_len, cfg.seq_len), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.n_heads, C // self.n_heads).transpose(1, 2) for t in (q, k, v))
        scores = (q @ k.transpose(-2, -1)) / math.sqrt(k.size(-1))
        scores = scores.masked_fill(~self.mask[:, :, :T, :T], float("-inf"))
        y = F.softmax(scores, dim=-1) @ v
        return self.out(y.transpose(1, 2).contiguous().view(B, T, C))


class Block(nn.Module):
    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(cfg.d_model, bias=False)
        self.attn = CausalSelfAttention(cfg)
        self.ln2 = nn.LayerNorm(cfg.d_model, bias=False)
        self.mlp = nn.Sequential(nn.Linear(cfg.d_model, 4 * cfg.d_model, bias=False), nn.GELU(),
                                 nn.Linear(4 * cfg.d_model, cfg.d_model, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class GPT(nn.Module):
    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.tok = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.pos = nn.Embedding(cfg.seq_len, cfg.d_model)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.ln_f = nn.LayerNorm(cfg.d_model, bias=False)
        self.head = nn.Linear(cfg.d_model, cfg.vocab_size, bias=False)
        self.head.weight = self.tok.weight  # tied
        self.apply(self._init)

    @staticmethod
    def _init(m: nn.Module) -> None:
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None):
        T = idx.size(1)
        x = self.tok(idx) + self.pos(torch.arange(T, device=idx.device))
        for block in self.blocks:
            x = block(x)
        logits = self.head(self.ln_f(x))
        if targets is None:
            return logits, None
        return logits, F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))


def byte_corpus() -> torch.Tensor:
    """Training text: the bytes of flopgrid's own source files (always installed)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    data = b"".join(p.read_bytes() for p in sorted(root.rglob("*.py")))
    return torch.frombuffer(bytearray(data), dtype=torch.uint8).long()


class ByteBatches:
    """Random (input, target) windows of `seq_len` bytes, `batch_size` per batch, forever.

    `stall_s` sleeps before each batch (an injected slow data loader)."""

    def __init__(self, corpus: torch.Tensor, batch_size: int, seq_len: int, seed: int = 0, stall_s: float = 0.0) -> None:
        self.corpus, self.batch_size, self.seq_len, self.stall_s = corpus, batch_size, seq_len, stall_s
        self.gen = torch.Generator().manual_seed(seed)

    def __iter__(self):
        return self

    def __next__(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self.stall_s > 0:
            import time

            time.sleep(self.stall_s)
        starts = torch.randint(0, self.corpus.numel() - self.seq_len - 1, (self.batch_size,), generator=self.gen)
        x = torch.stack([self.corpus[s:s + self.seq_len] for s in starts.tolist()])
        y = torch.stack([self.corpus[s + 1:s + 1 + self.seq_len] for s in starts.tolist()])
        return x, y
