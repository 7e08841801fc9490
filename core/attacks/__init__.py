"""The attacks (FGSM, PGD and the one resolver by name), the smallest flip, feature squeezing."""
