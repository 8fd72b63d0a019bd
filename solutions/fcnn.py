"""The fully connected baseline: one hidden layer of 100 neurons between 32,000 inputs and outputs."""

from torch import nn


class FullyConnected(nn.Module):
    def __init__(self, samples=32000, hidden=100):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Flatten(),                  # (B, 1, N) -> (B, N)
            nn.Linear(samples, hidden),
            nn.ReLU(),
            nn.Linear(hidden, samples),    # no activation after: audio is signed
        )

    def forward(self, x):
        return self.layers(x).reshape(x.shape)
