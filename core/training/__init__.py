"""Training: the loop, its config, the defenses, the robust monitor, DDP."""
