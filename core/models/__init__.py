"""The networks, their checkpoints (safetensors + card), ImageNet and the bundled models."""
