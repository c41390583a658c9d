"""Caught errors kept in a list: each traceback keeps the frame that raised, its tensors too."""

import torch
from _mlp import arguments, model_and_data
from torch import nn

args = arguments(__doc__)
model, optimizer, inputs, targets = model_and_data(args.hidden, args.batch)
loss_fn = nn.CrossEntropyLoss()
errors = []


def checked_step(step):
    hidden = model[:2](inputs + 0.01 * step)
    output = model[2:](hidden)
    loss = loss_fn(output, targets)
    if step % 1 == 0:  # every step "fails" a sanity check after the forward pass
        raise ValueError(f"step {step}: loss {loss.item():.3f} above the warning line")
    return loss


losses = []
for step in range(args.steps):
    optimizer.zero_grad()
    try:
        loss = checked_step(step)
    except ValueError as error:
        errors.append(error)  # the leak: the traceback keeps checked_step's frame
        continue
    loss.backward()
    optimizer.step()
    losses.append(loss.item())
with torch.no_grad():
    validation = loss_fn(model(inputs), targets)
print(f"{len(errors)} errors kept")
