"""PyTorch issue 25340's pattern: an autograd Function that stores its output on ctx."""

import torch

ELEMENTS = 64 * 1024  # float32: 256 KiB of storage per output


class Double(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        y = x * 2  # allocates the cycle
        ctx.y = y  # the mistake: ctx.save_for_backward(y), or nothing, would not leak
        return y

    @staticmethod
    def backward(ctx, grad):
        return grad * 2


def step(iteration: int) -> None:
    x = torch.ones(ELEMENTS, requires_grad=True)
    Double.apply(x)  # allocates the cycle (the backward node, ctx)
