"""The reference for bench:train: the same baby GPT trained by PyTorch on this CPU.

nanoGPT's model (pre-LayerNorm blocks, causal self-attention, GELU MLP, tied embeddings, biases,
no dropout) in the course's configuration: 4 layers, 4 heads, 128 wide, context 64, batch 12,
character-level Tiny Shakespeare; AdamW(1e-3, betas 0.9/0.99, eps 1e-8, weight decay 0.1 on 2-D
weights), global-norm clipping at 1. Prints a JSON line naming torch's BLAS, its kernel and its
1-thread 1024² matmul GFLOP/s, then one JSON line per thread count.

    OPENBLAS_NUM_THREADS=1 python3 bench/torch_gpt.py --steps 30 --threads 1,2
"""
import argparse
import ctypes
import json
import math
import os
import re
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, C, n_head):
        super().__init__()
        self.n_head = n_head
        self.ln_1, self.ln_2 = nn.LayerNorm(C), nn.LayerNorm(C)
        self.c_attn, self.c_proj = nn.Linear(C, 3 * C), nn.Linear(C, C)
        self.c_fc, self.mlp_proj = nn.Linear(C, 4 * C), nn.Linear(4 * C, C)

    def forward(self, x, mask):
        B, T, C = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))  # (B, nh, T, hs)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(k.size(-1))
        att = F.softmax(att.masked_fill(mask[:T, :T] == 0, float("-inf")), dim=-1)
        x = x + self.c_proj((att @ v).transpose(1, 2).contiguous().view(B, T, C))
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class GPT(nn.Module):
    def __init__(self, vocab, block, n_layer, n_head, C):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(vocab, C), nn.Embedding(block, C)
        self.h = nn.ModuleList(Block(C, n_head) for _ in range(n_layer))
        self.ln_f = nn.LayerNorm(C)
        self.register_buffer("mask", torch.tril(torch.ones(block, block)))
        for name, p in self.named_parameters():
            if p.dim() == 2:
                std = 0.02 / math.sqrt(2 * n_layer) if name.endswith("c_proj.weight") or name.endswith("mlp_proj.weight") else 0.02
                nn.init.normal_(p, 0.0, std)
            elif name.endswith("bias"):
                nn.init.zeros_(p)

    def forward(self, idx, targets):
        T = idx.size(1)
        x = self.wte(idx) + self.wpe(torch.arange(T))
        for block in self.h:
            x = block(x, self.mask)
        logits = self.ln_f(x) @ self.wte.weight.t()  # tied head
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))


def blas_report():
    """Which BLAS torch's matmuls run on here, its kernel, and its 1-thread fp32 matmul speed.

    A ratio against PyTorch is only as good as its BLAS: Debian's torch takes whatever libblas.so.3
    the system selects (OpenBLAS, or the reference BLAS at a few GFLOP/s), and OpenBLAS picks its
    kernel by CPU unless OPENBLAS_CORETYPE forces a weaker one.
    """
    torch.ones(2, 2) @ torch.ones(2, 2)  # loads the BLAS
    libraries = sorted(set(re.findall(r"(/\S+\.so[.\d]*)", open("/proc/self/maps").read()))) if os.path.exists("/proc/self/maps") else []
    blas, kernel = "unknown", "unknown"
    openblas = [lib for lib in libraries if os.path.basename(lib).startswith("libopenblas")]
    if openblas:
        lib = ctypes.CDLL(openblas[0])
        lib.openblas_get_config.restype = lib.openblas_get_corename.restype = ctypes.c_char_p
        blas, kernel = lib.openblas_get_config().decode().split(" NO_")[0].split(" DYNAMIC")[0], lib.openblas_get_corename().decode()
    elif any("mkl" in os.path.basename(lib) for lib in libraries):
        blas, kernel = "MKL", "MKL"
    elif any(os.path.basename(lib).startswith("libblas.so") for lib in libraries):
        blas, kernel = "reference BLAS", "reference"
    torch.set_num_threads(1)
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    for _ in range(3):
        a @ b
    times = []
    for _ in range(7):
        t0 = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t0)
    return {"blas": blas, "kernel": kernel, "coretypeForced": os.environ.get("OPENBLAS_CORETYPE"),
            "matmulGflops": 2 * 1024 ** 3 / sorted(times)[len(times) // 2] / 1e9}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "..", "datasets", "tinyshakespeare.txt"))
    args = ap.parse_args()
    text = open(args.data, encoding="utf8").read()
    chars = sorted(set(text))
    index = {c: i for i, c in enumerate(chars)}
    ids = torch.tensor([index[c] for c in text[: len(text) * 9 // 10]], dtype=torch.long)
    B, T = 12, 64
    print(json.dumps({"report": blas_report()}), flush=True)
    for threads in (int(t) for t in args.threads.split(",")):
        torch.set_num_threads(threads)
        torch.manual_seed(1337)
        model = GPT(len(chars), T, 4, 4, 128)
        decay = [p for p in model.parameters() if p.dim() == 2]
        other = [p for p in model.parameters() if p.dim() < 2]
        opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": other, "weight_decay": 0.0}], lr=1e-3, betas=(0.9, 0.99), eps=1e-8)
        times = []
        for step in range(args.steps + 3):
            start = torch.randint(len(ids) - T - 1, (B,))
            x = torch.stack([ids[s : s + T] for s in start])
            y = torch.stack([ids[s + 1 : s + T + 1] for s in start])
            t0 = time.perf_counter()
            loss = model(x, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            if step >= 3:  # the first steps allocate and warm up
                times.append(time.perf_counter() - t0)
        median = sorted(times)[len(times) // 2]
        print(json.dumps({"threads": threads, "steps": args.steps, "msPerStep": median * 1000, "tokensPerSecond": B * T / median,
                          "torch": torch.__version__, "loss": loss.item()}), flush=True)


if __name__ == "__main__":
    main()
