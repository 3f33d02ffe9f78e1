"""The vectorised PyTorch kernel: the engine's reference and fallback path.

For a batch of cached rows P (batch, units), bias b (units), scaled readout Cs (outputs, units)
and readout bias c (outputs):
    z = P + b,  h = relu(z),  out = h Cs^T + c
    cross entropy: L = mean_r -log softmax(out_r)[y_r],  dL/dout = (softmax(out) - onehot(y)) / batch
    mse:           L = mean (out - y)^2,                  dL/dout = 2 (out - y) / (batch * outputs)
    dL/db = sum_r [z_r > 0] * (Cs^T dL/dout_r)        (no weight and no input gradient)
    G     = sum_r dL/dout_r (x) h_r                      (readout-weight gradient before gating)
    dL/dc = sum_r dL/dout_r
The compiled kernel (biaslearn/engine/fused.c) computes the same quantities in one pass per row."""

from __future__ import annotations

import torch
import torch.nn.functional as F

CROSS_ENTROPY, MSE = 0, 1


class TorchKernel:
    name = "torch"

    def step(self, rows, index, b, cs, c, loss_kind, y, want_gb, want_g, threads=None):
        p = rows[index].float()
        z = p + b
        h = torch.relu(z)
        out = torch.addmm(c, h, cs.T)
        batch = out.shape[0]
        if loss_kind == CROSS_ENTROPY:
            loss = F.cross_entropy(out, y)
            dout = torch.softmax(out, 1)
            dout[torch.arange(batch), y] -= 1.0
            dout /= batch
        else:
            loss = F.mse_loss(out, y)
            dout = 2.0 * (out - y) / out.numel()
        gb = ((dout @ cs) * (z > 0)).sum(0) if want_gb else None
        g = dout.T @ h if want_g else None
        return float(loss), gb, g, dout.sum(0)

    def logits(self, rows, start, count, b, cs, c, threads=None):
        h = torch.relu(rows[start : start + count].float() + b)
        return torch.addmm(c, h, cs.T)
