"""The explorer and notebook panel: controls, a live ensemble and its charts (layer 5)."""
