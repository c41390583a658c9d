"""The commonest leak: the loss tensor kept (with its graph), and validation with autograd on."""

from _mlp import arguments, model_and_data
from torch import nn

args = arguments(__doc__)
model, optimizer, inputs, targets = model_and_data(args.hidden, args.batch)
loss_fn = nn.CrossEntropyLoss()
losses = []
validation_losses = []
for step in range(args.steps):
    optimizer.zero_grad()
    loss = loss_fn(model(inputs + 0.01 * step), targets)
    loss.backward()
    optimizer.step()
    losses.append(loss)  # the leak: the tensor keeps its autograd graph alive
    validation = loss_fn(model(inputs), targets)  # no torch.no_grad(): a graph per step
    validation_losses.append(validation)
print(f"final loss {losses[-1].item():.4f}")
