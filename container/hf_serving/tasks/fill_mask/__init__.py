"""Fill-mask (masked language models): request shapes, the mask filler and its served model."""
