"""A training loop that keeps nothing between steps: the reference for the four leaks."""

import torch
from _mlp import arguments, model_and_data
from torch import nn

args = arguments(__doc__)
model, optimizer, inputs, targets = model_and_data(args.hidden, args.batch)
loss_fn = nn.CrossEntropyLoss()
losses = []
for step in range(args.steps):
    optimizer.zero_grad()
    loss = loss_fn(model(inputs + 0.01 * step), targets)
    loss.backward()
    optimizer.step()
    losses.append(loss.item())  # a float: the graph is freed with the step
    with torch.no_grad():
        validation = loss_fn(model(inputs), targets)
print(f"final loss {losses[-1]:.4f}")
