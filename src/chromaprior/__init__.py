"""chromaprior: restore color in images with learned score priors."""

__version__ = "0.1.0"
