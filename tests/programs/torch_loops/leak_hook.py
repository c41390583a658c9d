"""A forward hook that keeps every activation it sees (and, through them, their graphs)."""

import torch
from _mlp import arguments, model_and_data
from torch import nn

args = arguments(__doc__)
model, optimizer, inputs, targets = model_and_data(args.hidden, args.batch)
loss_fn = nn.CrossEntropyLoss()
activations = []
model[2].register_forward_hook(lambda module, args, output: activations.append(output))
losses = []
for step in range(args.steps):
    optimizer.zero_grad()
    loss = loss_fn(model(inputs + 0.01 * step), targets)
    loss.backward()
    optimizer.step()
    losses.append(loss.item())
    with torch.no_grad():
        validation = loss_fn(model(inputs), targets)
print(f"final loss {losses[-1]:.4f}, {len(activations)} activations kept")
