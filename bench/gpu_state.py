"""Split/join large files and slim/expand training states for the GPU recipe
(:mod:`chromaprior.training.state_files`): ``python bench/gpu_state.py split|join|slim|expand ...``."""

from chromaprior.training.state_files import main

if __name__ == "__main__":
    raise SystemExit(main())
