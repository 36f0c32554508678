"""The methods: colorization (score priors and supervised colorizers), restoration (HGM
score priors and the learned demosaicker/inpainter), the sampler and the classical baselines."""
