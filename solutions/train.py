"""The lab's training loop and its evaluation."""

import torch


def train(estimator, train_loader, optimizer, loss_fn, n_epochs, device):
    """Plain mini-batch training; returns, per epoch, the mean of that epoch's batch losses."""
    history = []
    estimator.train()
    for _ in range(n_epochs):
        batch_losses = []
        for x, y in train_loader:
            x, y = x.to(device), y.to(device)
            optimizer.zero_grad()
            loss = loss_fn(estimator(x), y)
            loss.backward()
            optimizer.step()
            batch_losses.append(loss.item())
        history.append(sum(batch_losses) / len(batch_losses))
    return history


@torch.no_grad()
def evaluate(estimator, loader, device):
    """Mean squared error per sample over the whole set (not a mean of batch means: the last batch
    may be short)."""
    estimator.eval()
    squared_error = torch.zeros((), dtype=torch.float64, device=device)
    samples = 0
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        squared_error += (estimator(x) - y).double().pow(2).sum()
        samples += y.numel()
    return squared_error.item() / samples
