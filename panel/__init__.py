"""The panel's outputs: the scored cohort list, the panel pack, and the panel's decisions back."""
