"""The training space (e-formation): a separate store of fictitious data where agents follow
guided exercises with the real screens and operations (docs/training.md, decision 0020)."""
