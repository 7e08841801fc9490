"""The Explorer tab: its state, its widgets and panels, and the view that wires them."""
