"""The method layer: the registry of methods (one spec each), their training losses and the
model checkpoints (safetensors + a JSON card)."""
