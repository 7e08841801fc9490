"""``fgsm-studio-cli``: the command line (``main``) and its options (``options``)."""
