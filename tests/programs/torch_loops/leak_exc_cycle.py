"""The exception cycle: a frame that keeps its own exception (``error = e``) keeps its tensors."""

import torch
from _mlp import arguments, model_and_data
from torch import nn

args = arguments(__doc__)
model, optimizer, inputs, targets = model_and_data(args.hidden, args.batch)
loss_fn = nn.CrossEntropyLoss()


def train_step(step):
    error = None
    optimizer.zero_grad()
    output = model(inputs + 0.01 * step)
    loss = loss_fn(output, targets)
    try:
        if step >= 0:  # a check that fails on every step
            raise IndexError(f"step {step}: no such class")
    except IndexError as e:
        error = e  # the cycle: frame -> error -> traceback -> frame
    loss.backward()
    optimizer.step()
    return loss.item(), error


losses = []
for step in range(args.steps):
    value, _ = train_step(step)
    losses.append(value)
    with torch.no_grad():
        validation = loss_fn(model(inputs), targets)
print(f"final loss {losses[-1]:.4f}")
