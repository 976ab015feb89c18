"""The engine's independent reference: logits, loss and every gradient of a small GPT, by PyTorch.

For fixed, non-trivial weights (rounded to float32, so that both sides start from the same
numbers) and a fixed batch, nanoGPT's model from bench/torch_gpt.py computes in float64 the
logits, the mean cross-entropy and the gradient of every parameter. The weights are written in
the course's names and layout (linear weights [in, out], where nn.Linear keeps [out, in]), so
tests/torch-reference.test.ts loads them with GPT.fromWeights and compares its own float32
results. PyTorch is never a course dependency: this script is run once and its output committed.

    python3 bench/torch_fixture.py      # writes tests/data/torch-gpt.json
"""
import datetime
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
from torch_gpt import GPT  # noqa: E402

CONFIG = {"vocabSize": 11, "blockSize": 8, "nLayer": 2, "nHead": 2, "nEmbd": 16, "dropout": 0, "bias": True, "tieWeights": True}
BATCH = 3
OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "data", "torch-gpt.json")


def course_names(n_layer):
    """(course name, torch name, transposed): the course keeps linear weights as [in, out]."""
    pairs = [("wte", "wte.weight", False), ("wpe", "wpe.weight", False)]
    for l in range(n_layer):
        h, t = f"h.{l}", f"h.{l}"
        pairs += [(f"{h}.ln_1.weight", f"{t}.ln_1.weight", False), (f"{h}.ln_1.bias", f"{t}.ln_1.bias", False)]
        for course, torch_name in (("attn.c_attn", "c_attn"), ("attn.c_proj", "c_proj")):
            pairs += [(f"{h}.{course}.weight", f"{t}.{torch_name}.weight", True), (f"{h}.{course}.bias", f"{t}.{torch_name}.bias", False)]
        pairs += [(f"{h}.ln_2.weight", f"{t}.ln_2.weight", False), (f"{h}.ln_2.bias", f"{t}.ln_2.bias", False)]
        for course, torch_name in (("mlp.c_fc", "c_fc"), ("mlp.c_proj", "mlp_proj")):
            pairs += [(f"{h}.{course}.weight", f"{t}.{torch_name}.weight", True), (f"{h}.{course}.bias", f"{t}.{torch_name}.bias", False)]
    return pairs + [("ln_f.weight", "ln_f.weight", False), ("ln_f.bias", "ln_f.bias", False)]


def main():
    torch.manual_seed(29)
    c = CONFIG
    model = GPT(c["vocabSize"], c["blockSize"], c["nLayer"], c["nHead"], c["nEmbd"]).double()
    # Weights far from the initialisation's 0.02, LayerNorm gains and biases far from 1 and 0: every
    # parameter then shapes the result, and a wrong layout or a missing term shows in the comparison.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("ln_1.weight") or name.endswith("ln_2.weight") or name == "ln_f.weight":
                p.copy_(1 + 0.2 * torch.randn_like(p))
            elif p.dim() == 1:
                p.copy_(0.2 * torch.randn_like(p))
            else:
                p.copy_(0.3 * torch.randn_like(p))
            p.copy_(p.float().double())  # float32 values, so that the course loads exactly these
    T = c["blockSize"]
    x = torch.randint(c["vocabSize"], (BATCH, T))
    y = torch.randint(c["vocabSize"], (BATCH, T))

    # nanoGPT's forward, stopped at the logits: the same ops GPT.forward in bench/torch_gpt.py runs.
    h = model.wte(x) + model.wpe(torch.arange(T))
    for block in model.h:
        h = block(h, model.mask)
    logits = model.ln_f(h) @ model.wte.weight.t()  # (B, T, V), tied head
    loss = torch.nn.functional.cross_entropy(logits.view(-1, c["vocabSize"]), y.view(-1))
    loss.backward()

    params = dict(model.named_parameters())
    weights, gradients = {}, {}
    for course, torch_name, transposed in course_names(c["nLayer"]):
        p = params[torch_name]
        w, g = (p.detach().t(), p.grad.t()) if transposed else (p.detach(), p.grad)
        weights[course] = {"shape": list(w.shape), "values": w.reshape(-1).tolist()}
        gradients[course] = g.reshape(-1).tolist()
    assert len(weights) == len(params), "every torch parameter has a course name"

    fixture = {
        "provenance": {
            "command": "python3 bench/torch_fixture.py",
            "torch": torch.__version__,
            "python": sys.version.split()[0],
            "createdAt": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "precision": "float64 arithmetic on float32-representable weights",
        },
        "config": c,
        "batchSize": BATCH,
        "x": x.reshape(-1).tolist(),
        "y": y.reshape(-1).tolist(),
        "weights": weights,
        "logits": logits.detach().reshape(-1).tolist(),
        "loss": loss.item(),
        "gradients": gradients,
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    tmp = f"{OUT}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf8") as f:
        json.dump(fixture, f, separators=(",", ":"))
        f.write("\n")
    os.replace(tmp, OUT)
    print(f"wrote {os.path.relpath(OUT)}: loss {loss.item():.6f}, {sum(len(v) for v in gradients.values())} gradient values")


if __name__ == "__main__":
    main()
