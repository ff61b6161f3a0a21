"""How a container process comes to exist: the parent side, the channel, the in-container init."""
