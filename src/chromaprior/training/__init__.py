"""Training: one loop for every method of the registry, the training data and the loss plot."""
