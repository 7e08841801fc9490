"""Runs of many trainings: experiments, the paper's protocol, records, Ray and Slurm."""
