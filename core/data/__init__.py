"""Datasets, image files and augmentation: images in, validated tensors out."""
