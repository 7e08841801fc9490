"""The Train tab: its state, form and options, widgets and plots, worker, and the view."""
