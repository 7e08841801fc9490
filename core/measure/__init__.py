"""Accuracy clean and under attack, gradient-masking checks, other writers' digits."""
